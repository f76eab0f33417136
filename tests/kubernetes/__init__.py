"""Tests of the kubernetes sandbox backend, its manifests and the Helm chart."""
