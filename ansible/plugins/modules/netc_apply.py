#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: netc_apply
short_description: Converge a host or network namespace to a node's desired state with netc
description:
  - Runs C(netc apply --auto-approve) for one node. netc plans, applies in dependency
    order, verifies, and rolls back by itself if any step fails; the failure message is
    netc's diagnostic.
  - C(changed) is false when the target already matched the desired state.
  - In check mode it runs C(netc plan --detailed-exitcode) instead and reports C(changed)
    from its exit code (0 no changes, 2 changes, 1 error); nothing is changed.
  - With C(--diff) the plan text is shown as the diff.
  - With I(confirm_within) the apply is commit-confirmed; it reverts by itself unless
    M(netc.netc.netc_confirm) runs in time. C(pending) tells whether a confirmation is due
    (an apply that changed nothing leaves nothing to confirm).
version_added: "0.1.0"
options:
  node:
    description: The node (Calico C(Node) name) whose desired state to apply.
    type: str
    required: true
  src:
    description: Input files or directories (YAML and C(netc.lock)) on the target.
    type: list
    elements: path
    required: true
  netns:
    description: Apply to this network namespace instead of the host (C(--netns)).
    type: str
  firewall:
    description: Firewall backend.
    type: str
    choices: [nftables, iptables]
  bird_config:
    description: BIRD config file netc owns (C(--bird-config)).
    type: path
  bird_socket:
    description: BIRD control socket (C(--bird-socket)).
    type: path
  lock:
    description: Block allocation lock file (default C(netc.lock) in the first input directory).
    type: path
  lock_timeout:
    description: How long to wait for another netc on the same target (e.g. C(60s)).
    type: str
  locked:
    description: Fail instead of changing C(netc.lock) (C(--locked)); the lock is compiled and committed on the controller.
    type: bool
    default: true
  confirm_within:
    description: Revert automatically unless confirmed within this time (e.g. C(2m)).
    type: str
  secrets_file:
    description: "Secrets for BGP passwords on the target: YAML C(secret-name: {key: value}), mode 0600."
    type: path
  secrets:
    description:
      - "Secrets for BGP passwords as a dict C(secret-name: {key: value}), e.g. from a
        vaulted variable. Written to a private 0600 temporary file for the call and
        removed afterwards; never logged (C(no_log)). Mutually exclusive with I(secrets_file)."
    type: dict
  force:
    description: Apply even though the target does not carry the node's ipv4Address.
    type: bool
    default: false
  binary:
    description: Path of the netc binary on the target (default C(netc) on C(PATH)).
    type: path
author: netc developers
"""

EXAMPLES = r"""
- name: Apply, commit-confirmed
  netc.netc.netc_apply:
    node: "{{ inventory_hostname }}"
    src: /etc/netc/cluster
    secrets_file: /etc/netc/bgp.secrets.yaml
    confirm_within: 2m
  register: applied

- name: Keep it
  netc.netc.netc_confirm:
  when: applied.pending
"""

RETURN = r"""
plan:
  description: The plan text (what was, or in check mode would be, changed).
  returned: success
  type: str
pending:
  description: True when a commit-confirmed apply waits for C(netc confirm).
  returned: success
  type: bool
exit_code:
  description: netc's exit code (in check mode, plan's 0 or 2).
  returned: success
  type: int
stdout:
  description: netc's output.
  returned: always
  type: str
cmd:
  description: The command run (secrets appear only as a file name).
  returned: always
  type: list
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.netc.netc.plugins.module_utils.netc import (
    APPLIED,
    NO_CHANGES,
    TARGET_ARGS,
    Secrets,
    failure,
    netc_binary,
    plan_text,
    run_plan,
    target_args,
    warnings_of,
)


def main():
    spec = dict(TARGET_ARGS)
    spec.update(
        locked=dict(type="bool", default=True),
        confirm_within=dict(type="str"),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    secrets = Secrets(module)
    try:
        if module.check_mode:
            changed, res = run_plan(module, secrets)
            res["pending"] = False
        else:
            cmd = [netc_binary(module), "apply", "--auto-approve"]
            if p["locked"]:
                cmd.append("--locked")
            if p.get("confirm_within"):
                cmd += ["--confirm-within", p["confirm_within"]]
            cmd += target_args(module, secrets) + list(p["src"])
            rc, out, err = module.run_command(cmd, environ_update={"NO_COLOR": "1"})
            for w in warnings_of(err):
                module.warn(w)
            if rc != 0:
                secrets.close()
                failure(module, "netc apply", cmd, rc, out, err, plan=plan_text(out))
            if APPLIED.search(out):
                changed = True
            elif NO_CHANGES.search(out):
                changed = False
            else:
                secrets.close()
                failure(module, "netc apply (unrecognised output)", cmd, rc, out, err)
            res = dict(
                cmd=cmd,
                exit_code=rc,
                stdout=out,
                stderr=err,
                plan=plan_text(out) if changed else out,
                pending=changed and bool(p.get("confirm_within")),
            )
    finally:
        secrets.close()
    if module._diff and changed:
        res["diff"] = dict(prepared=res["plan"])
    module.exit_json(changed=changed, **res)


if __name__ == "__main__":
    main()
