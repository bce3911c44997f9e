package llmcheck

// Kind names the shape an LLM answer must have; each kind has one schema.
type Kind string

// The kinds of answer agents send for validation.
const (
	// KindSynthesis is a synthesis: reasoning plus a prioritized action plan.
	KindSynthesis Kind = "synthesis"
	// KindConsensus is one agent's vote in a consensus round.
	KindConsensus Kind = "consensus"
	// KindPatterns is a list of recurring problems found across agents.
	KindPatterns Kind = "patterns"
)

// kinds lists every Kind, in the order schemas are compiled.
func kinds() []Kind { return []Kind{KindSynthesis, KindConsensus, KindPatterns} }
