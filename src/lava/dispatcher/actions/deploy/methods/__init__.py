"""Deploy methods, one module per `to:` value.

`METHODS` maps the job's `to:` value to "module:Class" inside this package;
adding a method is one new module and one line here.
"""

METHODS: dict[str, str] = {
    "tmpfs": "tmpfs:DeployImagesAction",
    "tftp": "tftp:TftpAction",
}
