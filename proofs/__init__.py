"""Proofs against AWS's rules, run offline on the synthesized cloud assembly.

The package owns the one IAM policy evaluator (proofs.iam) that every proof uses, and the
proofs built on it: the deploy preflight (may each account's CloudFormation execution role
deploy what its templates declare) and the runtime flow proofs (is every cross-service and
cross-account hop allowed, every negative denied). Nothing else in the project evaluates
policies. Proofs read the cloud assembly, the plan and AWS's published data, never the
constructs that produced them, and name what they cannot decide offline.
"""
