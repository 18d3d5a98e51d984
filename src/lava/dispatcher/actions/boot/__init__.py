"""Boot actions: the methods a job selects, and the helper actions they share.

`methods/` holds one module per `boot: method:` value (the registry is
`methods.METHODS`); the modules here are the helpers: `login` (kernel
messages, auto-login, shell prompt, environment export),
`transfer_overlay_serial` (the overlay over the console), and QEMU's
`qemu_args` (command-line allow-list) and `kvm` (does KVM work here?).
"""
