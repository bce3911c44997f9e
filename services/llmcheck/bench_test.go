package llmcheck

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkCheckSynthesis measures a typical synthesis answer: prose around
// a fenced JSON block with ten plan items.
func BenchmarkCheckSynthesis(b *testing.B) {
	c := newChecker(b)
	var plan []string
	for i := range 10 {
		plan = append(plan, fmt.Sprintf(`{"priority": %d, "type": "Fix", "issue": "Budget sweeper item %d does not back off after a failure", "agent": "coder-%d"}`, i+1, i, i))
	}
	raw := "Here is the synthesis you asked for.\n```json\n" +
		`{"synthesis_reasoning": "` + strings.Repeat("The agents agree the sweeper must back off. ", 10) + `", "action_plan": [` +
		strings.Join(plan, ",") + "]}\n```\nLet me know if anything is unclear."
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Check(KindSynthesis, raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExtractHostile measures the worst input the JSON search sees: the
// maximum size of nothing but opening brackets.
func BenchmarkExtractHostile(b *testing.B) {
	raw := strings.Repeat("[", MaxInputBytes)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := extract(raw, ""); err == nil {
			b.Fatal("extract() found JSON in brackets")
		}
	}
}
