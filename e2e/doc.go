// Package e2e holds the end-to-end tests that drive the running service with
// real outside programs (a Prometheus server scraping /metrics, a headless
// browser). Each test skips with a message when its program is not installed.
package e2e
