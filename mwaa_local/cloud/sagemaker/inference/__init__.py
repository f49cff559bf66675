"""What runs inside a serving process (an endpoint's model server, a transform job's worker): the scikit-learn
container's handler conventions. These modules import nothing from mwaa_local: they run as scripts in the job's own
process, with only the local environment's packages and the user's code on the path."""
