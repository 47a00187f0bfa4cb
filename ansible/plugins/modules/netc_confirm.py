#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: netc_confirm
short_description: Keep (or roll back) a commit-confirmed netc apply
description:
  - Runs C(netc confirm) to keep an apply made with C(confirm_within) before it reverts
    by itself, or C(netc confirm --rollback) with I(rollback=true) to undo it now.
  - Fails with netc's diagnostic when nothing waits for confirmation (unless
    I(missing_ok)) or when the confirmation window has closed (the revert is due or done).
  - In check mode nothing is run and C(changed) is false.
version_added: "0.1.0"
options:
  netns:
    description: The network namespace the apply was made to (default the host).
    type: str
  rollback:
    description: Undo the pending apply now instead of keeping it.
    type: bool
    default: false
  missing_ok:
    description: Succeed, unchanged, when no apply waits for confirmation.
    type: bool
    default: false
  binary:
    description: Path of the netc binary on the target (default C(netc) on C(PATH)).
    type: path
author: netc developers
"""

EXAMPLES = r"""
- name: Keep the apply
  netc.netc.netc_confirm:
    netns: "{{ netc_netns | default(omit) }}"
"""

RETURN = r"""
msg:
  description: netc's message.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.netc.netc.plugins.module_utils.netc import failure, netc_binary


def main():
    module = AnsibleModule(
        argument_spec=dict(
            netns=dict(type="str"),
            rollback=dict(type="bool", default=False),
            missing_ok=dict(type="bool", default=False),
            binary=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if module.check_mode:
        module.exit_json(changed=False, msg="check mode: nothing confirmed")
    cmd = [netc_binary(module), "confirm"]
    if p.get("netns"):
        cmd += ["--netns", p["netns"]]
    if p["rollback"]:
        cmd.append("--rollback")
    rc, out, err = module.run_command(cmd, environ_update={"NO_COLOR": "1"})
    if rc != 0:
        if p["missing_ok"] and "no apply is waiting for confirmation" in err:
            module.exit_json(changed=False, msg=err.strip(), cmd=cmd)
        failure(module, "netc confirm", cmd, rc, out, err)
    module.exit_json(changed=True, msg=out.strip(), cmd=cmd, rc=rc, stdout=out, stderr=err)


if __name__ == "__main__":
    main()
