"""Boot actions, one module per `method:`.

`METHODS` maps the job's `method:` value to "module:Class" inside this package.
"""

METHODS: dict[str, str] = {
    "qemu": "qemu:BootQemuRetryAction",
}
