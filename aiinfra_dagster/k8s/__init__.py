"""The Kubernetes deployment mode: GPU step placement, the k8s job executor, and step Job manifests."""
