// Package architecture holds the test that keeps the direction of imports of
// DESIGN §3: main → app → handlers → middleware → services → models, with
// platform/ (connections and stores) and migrations/ below, config/ read by
// the app only. It reads the module's real import graph with `go list`, so a
// wrong arrow fails `go test ./...` and CI.
package architecture
