"""The `local` backend: bubblewrap namespaces, seccomp, cgroups and rlimits."""
