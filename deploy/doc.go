// Package deploy holds the files that package and watch the control plane:
// Prometheus scrape config and alert rules, the Grafana dashboard and its
// provisioning, and the Kubernetes manifests. It has no Go code of its own;
// its tests keep those files parseable and in step with what the service
// exposes (probe paths, metric names, the non-root security settings), so a
// rename in the service or a careless edit here fails CI instead of a deploy.
package deploy
