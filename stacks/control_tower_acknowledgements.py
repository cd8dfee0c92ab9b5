"""Every AWS Control Tower proactive control failure the platform acknowledges instead of
fixing, with the reason (stacks.control_tower).

One entry per control and resource: the resource's construct path relative to its stage (the
same in every account; a `*` stands for one path segment named from the config, such as a
team), or for a Service Catalog product's resource the product stack's path and the logical
id. The reason must let a reviewer check that the control does not apply. `at_deploy=True`
only where the resource passes the control's hook at deploy time, and the rule fails only
because it reads the template, where CloudFormation has not resolved the value yet. An entry
that matches no failure fails the synth.
"""

from __future__ import annotations

from stacks.control_tower import ControlAcknowledgement

ACKNOWLEDGEMENTS: tuple[ControlAcknowledgement, ...] = ()
