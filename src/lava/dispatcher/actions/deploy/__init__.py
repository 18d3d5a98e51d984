"""Deploy actions: the methods a job selects, and the helper actions they share.

`methods/` holds one module per `deploy: to:` value (the registry is
`methods.METHODS`); the modules here are the helpers those methods compose:
downloading (`download`, `http_download`, `file_download`, `handler`, `cache`,
`image_writer`, `decompress`) and the LAVA overlay (`overlay`, `overlay_env`,
`overlay_ramdisk`, `testdef`, `testdef_repo`, `testdef_scripts`).
"""
