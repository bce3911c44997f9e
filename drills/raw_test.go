package drills

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// rawRequest is an HTTP/1.1 request written byte for byte, so that the
// drill can send what Go's client refuses to: control bytes and CR/LF in
// header values, invalid UTF-8 in the request target, bodies that lie.
type rawRequest struct {
	method string
	target string
	// headers are whole header lines without the final CRLF.
	headers []string
	body    []byte
	// chunked sends body with Transfer-Encoding: chunked instead of a
	// Content-Length.
	chunked bool
	// anonymous sends no Authorization header.
	anonymous bool
	// may2xx explains why this request may be valid by accident; it
	// overrides its case's reason.
	may2xx string
}

// rawAnswer is what came back.
type rawAnswer struct {
	status int
	header http.Header
	body   []byte
}

// bytes renders the request for addr with token.
func (r rawRequest) bytes(addr, token string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nUser-Agent: drills\r\n", r.method, r.target, addr)
	if token != "" && !r.anonymous {
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", token)
	}
	for _, h := range r.headers {
		b.WriteString(h)
		b.WriteString("\r\n")
	}
	switch {
	case r.body == nil:
		b.WriteString("\r\n")
	case r.chunked:
		b.WriteString("Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
		for rest := r.body; len(rest) > 0; {
			n := min(len(rest), 64<<10)
			fmt.Fprintf(&b, "%x\r\n", n)
			b.Write(rest[:n])
			b.WriteString("\r\n")
			rest = rest[n:]
		}
		b.WriteString("0\r\n\r\n")
	default:
		fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(r.body))
		b.Write(r.body)
	}
	return b.Bytes()
}

// sendRaw writes req on a new connection to addr and reads one response.
// The write runs beside the read: a server may answer (413) and close
// before it has read a large body.
func sendRaw(addr, token string, req rawRequest) (rawAnswer, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return rawAnswer{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	go func() { _, _ = conn.Write(req.bytes(addr, token)) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return rawAnswer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return rawAnswer{}, err
	}
	return rawAnswer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// rssKB is the resident set size of process pid (VmRSS, in KiB).
func rssKB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
