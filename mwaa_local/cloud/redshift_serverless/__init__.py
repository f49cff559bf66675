"""Redshift Serverless control plane: namespaces and workgroups whose databases the Redshift Data API serves."""
