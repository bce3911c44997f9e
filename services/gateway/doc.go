// Package gateway is the LLM gateway of DESIGN §7: an OpenAI-compatible
// chat completions endpoint that makes the service the place model calls go
// through. Each call reserves its worst case on the caller's tenant/project
// budget, calls the model's provider through that provider's circuit breaker,
// commits the usage the provider reports (with its cost from the price table)
// or releases the reservation when the call fails. Providers sit behind the
// Provider interface, one file each.
package gateway
