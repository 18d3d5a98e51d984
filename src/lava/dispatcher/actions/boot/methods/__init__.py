"""Boot methods, one module per `method:` value.

`METHODS` maps the job's `method:` value to "module:Class" inside this package;
adding a method is one new module and one line here.
"""

METHODS: dict[str, str] = {
    "qemu": "qemu:BootQemuRetryAction",
    "u-boot": "uboot:UBootAction",
    "minimal": "minimal:MinimalBoot",
}
