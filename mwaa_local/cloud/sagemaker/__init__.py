"""SageMaker in the local cloud: training jobs that really run script-mode entry points on local Python."""
