"""The shared vocabulary of the tools kdoctor drives: docker and kubectl argv, with one timeout policy,
and the parsing of their output that several verbs need (node rows, node architectures, failing reasons)."""
