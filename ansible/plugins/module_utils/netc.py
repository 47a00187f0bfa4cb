# -*- coding: utf-8 -*-
# Shared by the netc_plan, netc_apply and netc_confirm modules: the options
# that name the target, building netc's command line, secrets handling.
# Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import tempfile

# Options shared by netc_plan and netc_apply (they map 1:1 to netc's flags).
TARGET_ARGS = dict(
    node=dict(type="str", required=True),
    src=dict(type="list", elements="path", required=True),
    netns=dict(type="str"),
    firewall=dict(type="str", choices=["nftables", "iptables"]),
    bird_config=dict(type="path"),
    bird_socket=dict(type="path"),
    lock=dict(type="path"),
    lock_timeout=dict(type="str"),
    secrets_file=dict(type="path", no_log=False),
    # secret-name -> {key: value}; written to a 0600 temporary file for the
    # duration of the call, never put on a command line, never logged.
    secrets=dict(type="dict", no_log=True),
    force=dict(type="bool", default=False),
    binary=dict(type="path"),
)

NO_CHANGES = re.compile(r"^No changes\. ", re.M)
APPLIED = re.compile(r"^Apply complete! ", re.M)


def netc_binary(module):
    b = module.params.get("binary")
    if b:
        if not os.access(b, os.X_OK):
            module.fail_json(msg="netc binary %s is not executable" % b)
        return b
    return module.get_bin_path("netc", required=True)


class Secrets(object):
    """The --secrets argument: the given file, or a private temporary file
    holding the `secrets` option (removed by close())."""

    def __init__(self, module):
        self.path = module.params.get("secrets_file")
        self._tmp = None
        data = module.params.get("secrets")
        if data:
            if self.path:
                module.fail_json(msg="secrets and secrets_file are mutually exclusive")
            fd, self._tmp = tempfile.mkstemp(prefix="netc-", suffix=".secrets.yaml")
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(to_secrets_yaml(data))
            self.path = self._tmp
        elif self.path and not os.path.isfile(self.path):
            module.fail_json(msg="secrets_file %s does not exist" % self.path)

    def close(self):
        if self._tmp:
            try:
                os.unlink(self._tmp)
            except OSError:
                pass
            self._tmp = None


def _yaml_str(s):
    # A YAML double-quoted scalar (JSON string syntax is valid YAML).
    import json

    return json.dumps(str(s))


def to_secrets_yaml(data):
    """netc's --secrets format: `secret-name: {key: value}` (no PyYAML needed)."""
    lines = []
    for name in sorted(data):
        keys = data[name]
        if not isinstance(keys, dict):
            raise ValueError("secrets.%s must be a mapping of key: value" % name)
        lines.append("%s:" % _yaml_str(name))
        for k in sorted(keys):
            lines.append("  %s: %s" % (_yaml_str(k), _yaml_str(keys[k])))
    return "\n".join(lines) + "\n"


def target_args(module, secrets):
    """The netc flags naming the target and inputs, common to plan and apply."""
    p = module.params
    args = ["--node", p["node"]]
    for opt, flag in (
        ("netns", "--netns"),
        ("firewall", "--firewall"),
        ("bird_config", "--bird-config"),
        ("bird_socket", "--bird-socket"),
        ("lock", "--lock"),
        ("lock_timeout", "--lock-timeout"),
    ):
        if p.get(opt):
            args += [flag, p[opt]]
    if secrets.path:
        args += ["--secrets", secrets.path]
    if p.get("force"):
        args.append("--force")
    return args


def warnings_of(text):
    """netc's `warning: ...` lines (stderr), for module.warn()."""
    return [l[len("warning: "):] for l in text.splitlines() if l.startswith("warning: ")]


def failure(module, what, cmd, rc, out, err, **extra):
    """Fail with netc's own diagnostic text as the message."""
    diag = (err or "").strip() or (out or "").strip() or "no output"
    module.fail_json(
        msg="%s failed (exit %s): %s" % (what, rc, diag),
        cmd=cmd,
        rc=rc,
        stdout=out,
        stderr=err,
        **extra
    )


def plan_text(out):
    """The plan part of apply's stdout: everything before `Apply complete!`."""
    m = APPLIED.search(out)
    return (out[: m.start()] if m else out).rstrip() + "\n"


def run_plan(module, secrets):
    """Run `netc plan --detailed-exitcode`; return (has_changes, result dict)."""
    cmd = [netc_binary(module), "plan", "--detailed-exitcode"]
    cmd += target_args(module, secrets) + list(module.params["src"])
    rc, out, err = module.run_command(cmd, environ_update={"NO_COLOR": "1"})
    for w in warnings_of(err):
        module.warn(w)
    if rc not in (0, 2):
        secrets.close()
        failure(module, "netc plan", cmd, rc, out, err)
    # Not `rc`: Ansible takes a non-zero rc as a failure, and 2 is not one here.
    return rc == 2, dict(cmd=cmd, exit_code=rc, stdout=out, stderr=err, plan=out)
