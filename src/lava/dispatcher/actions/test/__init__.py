"""Test actions, one module per form of the `test:` block.

`FORMS` maps the key that selects the form to "module:Class" inside this package.
"""

FORMS: dict[str, str] = {
    "definitions": "shell:TestShellRetry",
    "interactive": "interactive:TestInteractiveRetry",
}
