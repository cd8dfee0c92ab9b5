"""SageMaker pipeline definitions and the scripts their steps run.

`contract` is what the steps and the pipeline definition agree on; `steps/` holds the
scripts that run inside SageMaker's scikit-learn containers. Nothing here is imported by the
CDK app at run time except the contract; the ML libraries are needed only where the steps run.
"""
