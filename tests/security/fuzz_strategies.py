"""Adversarial job definitions, as a hostile submitter writes them (for test_fuzz.py).

Every definition starts from a real job (the demo job and LAVA's conformance
jobs) and is changed the way an attacker would: hostile strings (paths,
options, shell and template syntax, control characters, NULs) and huge
numbers in any field, values of another type, keys added, removed or
reordered, sensitive fields (timeouts, priority, context, namespaces, labels,
secrets, metadata) aimed at directly, and then the text itself: alias bombs,
deep nesting, YAML tags, several documents, a byte-order mark, raw control
characters or a cut. Each case names the interface it goes through and, for
a few, sends a value that is not a string at all.

Every URL is pointed at a closed port of the loopback address first: the lab
may hand accepted jobs to lava-run, and nothing may leave this machine.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from hypothesis import strategies as st

from tests.support.jobmutations import at, mutated_jobs, tree_paths

# The device type every accepted job goes to (test_fuzz sets it up).
FUZZ_TYPE = "fuzz"
INTERFACES = ("xmlrpc-submit", "xmlrpc-validate", "rest-submit", "rest-validate")
# A port nothing listens on: a fetch is refused at once.
NOWHERE = "127.0.0.1:9"

HOSTILE_STRINGS = [
    "../../../../../../../../tmp/fuzz-escape",
    "..",
    ".",
    "/",
    "/etc/shadow",
    "/root/.ssh/id_rsa",
    "~root",
    "-o",
    "--help",
    "-chardev file,id=x,path=/tmp/fuzz-qemu",
    "-monitor tcp:127.0.0.1:9,server,nowait",
    "-netdev user,id=n,guestfwd=tcp:10.0.2.1:1-cmd:touch /tmp/fuzz-cmd",
    "file:///etc/shadow",
    f"http://{NOWHERE}/image.img",
    f"git://{NOWHERE}/repo.git",
    "ext::sh -c touch% /tmp/fuzz-git",
    "fd::0",
    "$(touch /tmp/fuzz-shell)",
    "`id`",
    "; rm -rf /tmp/fuzz-canary",
    "a\0b",
    "\0",
    "\x1b[2J\x1b[31m",
    "\r\n- {dt: x, lvl: results, msg: {}}",
    "\u202egnp.exe",
    "{{ 7 * 7 }}",
    "{{ ''.__class__.__mro__ }}",
    "{% for x in range(10**9) %}x{% endfor %}",
    "%s%s%s%n",
    "${IFS}",
    "\\",
    "'",
    '"',
    "*alias",
    "&anchor",
    "!!python/object/apply:os.system ['touch /tmp/fuzz-yaml']",
    "<<",
    "null",
    "yes",
    "0x7fffffffffffffff",
    "1e400",
    ".nan",
    "LD_PRELOAD",
    "GIT_SSH_COMMAND",
    "",
    " ",
]
HUGE_NUMBERS = [
    -1,
    0,
    2**31,
    2**53 + 1,
    2**63,
    -(2**63) - 1,
    2**64,
    10**30,
    10**400,
    1e308,
    -1e308,
    float("inf"),
    float("-inf"),
    float("nan"),
]
# Keys a submitter names: real ones first, so that a value lands where it matters.
KEYS = [
    "job_name", "device_type", "timeouts", "job", "action", "actions", "connection",
    "connections", "queue", "days", "hours", "minutes", "seconds", "priority", "visibility",
    "group", "context", "metadata", "secrets", "tags", "notify", "protocols", "namespace",
    "deploy", "boot", "test", "command", "to", "method", "media", "images", "url",
    "image_arg", "compression", "archive", "headers", "prompts", "definitions", "from",
    "repository", "path", "name", "revision", "branch", "params", "arch", "extra_options",
    "memory", "netdevice", "monitor", "lava_test_results_dir", "timeout", "failure_retry",
]  # fmt: skip
# What the strategies aim at directly: (path into the job, what goes there).
CONTEXT_KEYS = [
    "arch", "cpu", "machine", "memory", "model", "netdevice", "monitor", "vga", "serial",
    "extra_options", "guestfs_size", "guestfs_interface", "guestfs_driveid", "boot_root",
    "boot_console", "console_device", "lava_test_results_dir", "no_kvm", "mac_addr",
]  # fmt: skip
TIMEOUT_KINDS = ["job", "action", "connection", "queue"]
UNITS = ["days", "hours", "minutes", "seconds"]

# Bounded repeats: a megabyte of letters must not make these quadratic.
URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,30}://)[^/\s'\"]{1,300}")
SCP_LIKE = re.compile(r"\b[\w.-]{1,64}@[\w-]{1,64}(\.[\w-]{1,64}){1,8}:")


def loopback_only(node: Any) -> Any:
    """``node`` with the host of every URL in every string replaced by ``NOWHERE``."""
    if isinstance(node, str):
        return SCP_LIKE.sub(f"git@{NOWHERE}:", URL.sub(rf"\g<1>{NOWHERE}", node))
    if isinstance(node, dict):
        return {loopback_only(key): loopback_only(value) for key, value in node.items()}
    if isinstance(node, list):
        return [loopback_only(item) for item in node]
    return node


def corpus(jobs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The real jobs, each aimed at the fuzz device type and kept on this machine."""
    found = []
    for job in jobs:
        job = loopback_only(copy.deepcopy(job))
        job["device_type"] = FUZZ_TYPE
        found.append(job)
    return found


# -- values -------------------------------------------------------------------

control_text = st.text(
    alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Zl", "Zp"]), max_size=8
)
long_strings = st.builds(
    lambda char, count: char * count,
    st.sampled_from(["a", "/", "../", "\0", "é", "{"]),
    st.sampled_from([300, 5_000, 70_000, 1_100_000]),
)
hostile_strings = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    control_text,
    st.builds(lambda a, b: a + b, st.sampled_from(HOSTILE_STRINGS), control_text),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    long_strings,
)
hostile_numbers = st.one_of(
    st.sampled_from(HUGE_NUMBERS),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
)
hostile_scalars = st.one_of(
    hostile_strings, hostile_numbers, st.none(), st.booleans(), st.sampled_from(KEYS)
)
hostile_values = st.recursive(
    hostile_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), hostile_strings), inner, max_size=4),
    ),
    max_leaves=8,
)
hostile_keys = st.one_of(st.sampled_from(KEYS), hostile_strings, hostile_numbers, st.none())


def like(value: Any) -> st.SearchStrategy[Any]:
    """A hostile value, mostly of the same kind as ``value`` (strings for strings...)."""
    if isinstance(value, bool) or value is None:
        return hostile_values
    if isinstance(value, str):
        return st.one_of(hostile_strings, hostile_strings, hostile_values)
    if isinstance(value, int | float):
        return st.one_of(hostile_numbers, hostile_numbers, hostile_values)
    return hostile_values


# -- changes to the structure -------------------------------------------------


def _actions(job: dict[str, Any]) -> list[dict[str, Any]]:
    actions = job.get("actions")
    if not isinstance(actions, list):
        return []
    return [
        block
        for item in actions
        if isinstance(item, dict)
        for block in item.values()
        if isinstance(block, dict)
    ]


@st.composite
def aimed(draw: st.DrawFn, job: dict[str, Any]) -> dict[str, Any]:
    """``job`` with one sensitive field set to a hostile value."""
    target = draw(
        st.sampled_from(
            ["timeout", "priority", "context", "namespace", "label", "definition", "secrets",
             "metadata", "tags", "visibility", "job_name", "action_timeout", "notify"]
        )
    )  # fmt: skip
    blocks = _actions(job)
    if target == "timeout":
        kind = draw(st.sampled_from(TIMEOUT_KINDS))
        unit = draw(st.sampled_from(UNITS))
        job.setdefault("timeouts", {})
        if isinstance(job["timeouts"], dict):
            job["timeouts"][kind] = {unit: draw(hostile_numbers | hostile_values)}
    elif target == "priority":
        job["priority"] = draw(hostile_numbers | hostile_values)
    elif target == "context":
        context = job.get("context") if isinstance(job.get("context"), dict) else {}
        key = draw(st.sampled_from(CONTEXT_KEYS) | hostile_strings)
        context[key] = draw(hostile_values | st.lists(st.sampled_from(HOSTILE_STRINGS), max_size=4))
        job["context"] = context
    elif target in ("namespace", "action_timeout") and blocks:
        block = draw(st.sampled_from(blocks))
        if target == "namespace":
            block["namespace"] = draw(hostile_strings)
        else:
            block["timeout"] = {draw(st.sampled_from(UNITS)): draw(hostile_numbers)}
    elif target == "label" and blocks:
        block = draw(st.sampled_from(blocks))
        images = block.get("images")
        if isinstance(images, dict) and images:
            old = draw(st.sampled_from(sorted(images, key=str)))
            images[draw(hostile_strings)] = images.pop(old)
    elif target == "definition" and blocks:
        block = draw(st.sampled_from(blocks))
        definitions = block.get("definitions")
        if isinstance(definitions, list) and definitions:
            index = draw(st.integers(0, len(definitions) - 1))
            if isinstance(definitions[index], dict):
                field = draw(
                    st.sampled_from(["name", "path", "repository", "revision", "branch", "from"])
                )
                definitions[index][field] = draw(hostile_strings)
    elif target == "secrets":
        job["secrets"] = draw(st.dictionaries(hostile_strings, hostile_values, max_size=4))
    elif target == "metadata":
        job["metadata"] = draw(st.dictionaries(hostile_strings, hostile_values, max_size=4))
    elif target == "tags":
        job["tags"] = draw(st.lists(hostile_strings, max_size=4) | hostile_values)
    elif target == "visibility":
        job["visibility"] = draw(
            st.sampled_from(["public", "personal", "group"])
            | st.fixed_dictionaries({"group": st.lists(hostile_strings, max_size=3)})
            | hostile_values
        )
    elif target == "job_name":
        job["job_name"] = draw(hostile_strings)
    elif target == "notify":
        job["notify"] = draw(hostile_values)
    return job


@st.composite
def replaced(draw: st.DrawFn, job: dict[str, Any]) -> dict[str, Any]:
    """``job`` with the value at one of its paths replaced by a hostile one of its kind."""
    paths = [path for path in tree_paths(job) if path]
    path = draw(st.sampled_from(paths))
    parent = at(job, path[:-1])
    parent[path[-1]] = draw(like(parent[path[-1]]))
    return job


def _contains(node: Any, target: Any) -> bool:
    if node is target:
        return True
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    return any(_contains(child, target) for child in children)


@st.composite
def shared(draw: st.DrawFn, job: dict[str, Any]) -> dict[str, Any]:
    """``job`` with one of its lists or mappings put in a second place too: the YAML dumper
    writes it once with an anchor and then as an alias (never inside itself)."""
    paths = [path for path in tree_paths(job) if path and isinstance(at(job, path), dict | list)]
    if not paths:
        return job
    node = at(job, draw(st.sampled_from(paths)))
    targets = [p for p in [(), *paths] if not _contains(node, at(job, p))]
    if not targets:
        return job
    target = at(job, draw(st.sampled_from(targets)))
    if isinstance(target, dict):
        target[draw(st.sampled_from(KEYS))] = node
    else:
        target.append(node)
    return job


# -- changes to the text --------------------------------------------------------

PLACE = "fuzz-placeholder-7d1c"


def alias_bomb(levels: int, fanout: int) -> str:
    """A flow sequence whose aliases expand to ``fanout ** levels`` strings."""
    items = [f"&b0 [{', '.join(['lol'] * fanout)}]"]
    for level in range(1, levels):
        items.append(f"&b{level} [{', '.join([f'*b{level - 1}'] * fanout)}]")
    return "[" + ", ".join(items) + "]"


def deep(depth: int, kind: str) -> str:
    """``depth`` flow collections inside each other."""
    if kind == "list":
        return "[" * depth + "1" + "]" * depth
    return "{a: " * depth + "1" + "}" * depth


SPLICES = {
    "bomb": st.builds(alias_bomb, st.integers(2, 12), st.integers(2, 12)),
    "deep": st.builds(deep, st.sampled_from([10, 49, 50, 51, 200, 1000, 20_000]),
                      st.sampled_from(["list", "map"])),
    "tag": st.sampled_from([
        "!!python/object/apply:os.system ['touch /tmp/fuzz-yaml']",
        "!!python/name:os.system", "!!binary aGVsbG8=", "!!timestamp 2001-12-14",
        "!!set {a, b}", "!!float .nan", "!!int 0x7fffffffffffffffffffffff", "!!str",
        "!!omap [a: 1, b: 2]", "!!pairs [a: 1]", "!custom 1", "!<tag:yaml.org,2002:str> x",
    ]),
    "merge": st.sampled_from(["{<<: [1, 2]}", "{<<: 1}", "{<<: {<<: {}}}", "&m {<<: *m}"]),
    "alias": st.sampled_from(["*nowhere", "&a [*a]", "&a {x: *a}"]),
}  # fmt: skip
WHOLE_TEXT = ("second document", "bom", "raw control", "cut", "tabs", "crlf", "latin-1")


def dump(job: Any) -> str:
    """The job as YAML text, as a person would write it (block style, unicode kept)."""
    return yaml.dump(
        job,
        Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),  # long strings: libyaml's speed
        default_flow_style=False,
        allow_unicode=True,
        sort_keys=False,
        width=80,
    )


@st.composite
def spliced(draw: st.DrawFn, job: dict[str, Any]) -> str:
    """The job's text with a YAML construct written where one of its values was."""
    paths = [path for path in tree_paths(job) if path]
    path = draw(st.sampled_from(paths))
    at(job, path[:-1])[path[-1]] = PLACE
    construct = draw(st.sampled_from(sorted(SPLICES)).flatmap(lambda name: SPLICES[name]))
    return dump(job).replace(PLACE, construct, 1)


@st.composite
def retexted(draw: st.DrawFn, text: str) -> str:
    """``text`` changed as a whole."""
    change = draw(st.sampled_from(WHOLE_TEXT))
    if change == "second document":
        return text + "\n---\n" + draw(st.sampled_from(["job_name: two\n", "[1, 2]\n", "!!x\n"]))
    if change == "bom":
        return "\ufeff" + text
    if change == "raw control":
        where = draw(st.integers(0, len(text)))
        return (
            text[:where]
            + draw(st.sampled_from(["\0", "\x07", "\x1b", "\ud7ff", "\x85"]))
            + text[where:]
        )
    if change == "cut":
        return text[: draw(st.integers(0, len(text)))]
    if change == "tabs":
        return text.replace("  ", "\t", draw(st.integers(1, 5)))
    if change == "crlf":
        return text.replace("\n", "\r\n")
    return text.encode("utf-8").decode("latin-1")  # mojibake


# -- the cases ------------------------------------------------------------------


@dataclass
class Case:
    """One call: the interface, and the definition (text, or a value of another type)."""

    interface: str
    definition: Any
    how: str  # what was done to it, for the report

    def __repr__(self) -> str:  # shown by hypothesis for a failing example
        shown = self.definition if not isinstance(self.definition, str) else self.definition[:3000]
        return f"Case({self.interface!r}, how={self.how!r}, definition={shown!r})"


def cases(corpus: Sequence[dict[str, Any]]) -> st.SearchStrategy[Case]:
    """Calls a hostile submitter makes with definitions built from ``corpus``."""
    base = st.sampled_from(list(corpus)).map(copy.deepcopy)
    structural = st.one_of(
        base.flatmap(aimed),
        base.flatmap(replaced),
        base.flatmap(aimed).flatmap(replaced),
        mutated_jobs(corpus, hostile_keys, hostile_values),
        base.flatmap(shared),
    )

    @st.composite
    def build(draw: st.DrawFn) -> Case:
        interface = draw(st.sampled_from(INTERFACES))
        form = draw(st.sampled_from(["structure"] * 6 + ["splice"] * 3 + ["text"] * 2 + ["type"]))
        if form == "type":
            value = loopback_only(draw(hostile_values))
            return Case(interface, value, "a definition that is not a string")
        job = draw(structural)
        if form == "splice":
            text, how = draw(spliced(job)), "a YAML construct spliced in"
        elif form == "text":
            text, how = draw(retexted(dump(job))), "the text changed"
        else:
            text, how = dump(job), "values changed"
        return Case(interface, loopback_only(text), how)

    return build()
