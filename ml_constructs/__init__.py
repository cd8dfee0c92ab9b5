"""Reusable, config-free building blocks of the ML platform.

Nothing here reads the organization config: every construct takes plain arguments, so
other CDK apps can use them. (The package is not called `constructs` because that would
shadow the `constructs` library aws-cdk-lib imports.)
"""
