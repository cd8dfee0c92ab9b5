"""Deployable units: stages per account role, the stacks they hold, and the synth gates."""
