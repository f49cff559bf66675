"""Local stand-in for AWS Glue's `awsglue` package (only what pythonshell scripts need)."""
