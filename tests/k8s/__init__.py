"""Tests against a real Kubernetes control plane (tests/k8s/plane.py) on loopback."""
