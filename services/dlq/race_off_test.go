//go:build !race

package dlq_test

// raceDetector is true when the tests run with -race.
const raceDetector = false
