#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: netc_plan
short_description: Show what C(netc apply) would change on a host or network namespace
description:
  - Runs C(netc plan --detailed-exitcode) for one node against the live state of the
    target and returns the plan text. Read-only, so it runs the same in check mode.
  - C(changed) is true when the target differs from the desired state (netc exit 2),
    false when it matches (exit 0); netc's exit 1 is a failure whose message is
    netc's diagnostic.
  - With C(--diff) the plan text is shown as the diff.
version_added: "0.1.0"
options:
  node:
    description: The node (Calico C(Node) name) whose desired state to compare.
    type: str
    required: true
  src:
    description: Input files or directories (YAML and C(netc.lock)) on the target.
    type: list
    elements: path
    required: true
  netns:
    description: Plan against this network namespace instead of the host (C(--netns)).
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
    description: Do not warn that the target lacks the node's address.
    type: bool
    default: false
  binary:
    description: Path of the netc binary on the target (default C(netc) on C(PATH)).
    type: path
author: netc developers
"""

EXAMPLES = r"""
- name: Drift check
  netc.netc.netc_plan:
    node: "{{ inventory_hostname }}"
    src: /etc/netc/cluster
    secrets_file: /etc/netc/bgp.secrets.yaml
  register: drift
"""

RETURN = r"""
plan:
  description: The plan text netc printed.
  returned: success
  type: str
has_changes:
  description: Whether the target differs from the desired state.
  returned: success
  type: bool
exit_code:
  description: netc's exit code (0 no changes, 2 changes; 1 is a failure).
  returned: success
  type: int
cmd:
  description: The command run (secrets appear only as a file name).
  returned: always
  type: list
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.netc.netc.plugins.module_utils.netc import (
    TARGET_ARGS,
    Secrets,
    run_plan,
)


def main():
    module = AnsibleModule(argument_spec=dict(TARGET_ARGS), supports_check_mode=True)
    secrets = Secrets(module)
    try:
        changes, res = run_plan(module, secrets)
    finally:
        secrets.close()
    if module._diff and changes:
        res["diff"] = dict(prepared=res["plan"])
    module.exit_json(changed=changes, has_changes=changes, **res)


if __name__ == "__main__":
    main()
