package gateway

import (
	"encoding/json"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// withModel rewrites the "model" of an answer or chunk to the public name
// the client asked for (the provider writes its own model name there).
func withModel(body []byte, model string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	if _, ok := m["model"]; !ok {
		return body, nil
	}
	m["model"], _ = json.Marshal(model)
	return json.Marshal(m)
}

// completionEstimate estimates the completion tokens of an answer that
// reported no usage, from the text of its choices.
func completionEstimate(body []byte) int64 {
	var a struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	_ = json.Unmarshal(body, &a)
	n := 0
	for _, c := range a.Choices {
		n += len(c.Message.Content)
	}
	return textTokens(n)
}
