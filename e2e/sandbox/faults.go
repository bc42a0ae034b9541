package main

// Fault injection for the sandbox API server (off by default). It wraps
// the aggregator's API handler inside the generic handler chain, so
// authentication, authorization and request info are already done when it
// decides; only clients whose User-Agent starts with one of the targeted
// prefixes get faults (the control plane's own clients never do).
//
//	--faults SPEC or EXO_SANDBOX_FAULTS=SPEC, and DIR/faults (re-read when it
//	changes) with the same syntax:
//
//	rate=R      fraction of targeted requests that get a fault (0 = off)
//	seed=N      random seed (default 1)
//	kinds=K+K   kinds to pick from, uniformly (default all):
//	            500 429 503 drop watch-end watch-410
//	ua=P+P      User-Agent prefixes that are targeted
//	            (default exo-install/+exo-controller/)
//	methods=M+M only requests with these HTTP methods (default all)
//
// Kinds: 500/429/503 answer a Status (429 and 503 with Retry-After: 1)
// without processing the request; drop processes the request, sends the
// headers and half of the body, then aborts the connection (for a watch:
// after 0.5-3 s of real events); watch-end ends a watch cleanly after
// 0.5-3 s; watch-410 answers a watch with 410 Gone (HTTP status, or an
// ERROR event with code 410, alternately). watch-* apply to watches only,
// drop to any request.
//
// Every fault is logged ("sandbox: fault injected") and counted in
// DIR/faults-injected.json: {"spec": ..., "total": N, "byAgent":
// {"exo-install": {"500": n, ...}, ...}}, rewritten within 200 ms of a change.
// The real 429 and 5xx answers the API server gave a targeted client (not
// watches) are counted there too, as "real-429", "real-500", ...: a client's
// retries are at most the sum of both.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/klog/v2"
)

var faultKinds = []string{"500", "429", "503", "drop", "watch-end", "watch-410"}

type faultSpec struct {
	text    string
	rate    float64
	seed    int64
	kinds   []string
	ua      []string
	methods []string // nil: all
}

func parseFaultSpec(s string) (faultSpec, error) {
	f := faultSpec{text: strings.TrimSpace(s), seed: 1, kinds: faultKinds,
		ua: []string{"exo-install/", "exo-controller/"}}
	for _, kv := range strings.FieldsFunc(f.text, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return f, fmt.Errorf("faults: %q: want key=value", kv)
		}
		switch k {
		case "rate":
			r, err := strconv.ParseFloat(v, 64)
			if err != nil || r < 0 || r > 1 {
				return f, fmt.Errorf("faults: rate=%s: want a number in [0,1]", v)
			}
			f.rate = r
		case "seed":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return f, fmt.Errorf("faults: seed=%s: want an integer", v)
			}
			f.seed = n
		case "kinds":
			f.kinds = nil
			for _, kind := range strings.Split(v, "+") {
				known := false
				for _, k2 := range faultKinds {
					known = known || k2 == kind
				}
				if !known {
					return f, fmt.Errorf("faults: kind %q: want one of %s", kind, strings.Join(faultKinds, " "))
				}
				f.kinds = append(f.kinds, kind)
			}
		case "ua":
			f.ua = strings.Split(v, "+")
		case "methods":
			f.methods = strings.Split(strings.ToUpper(v), "+")
		default:
			return f, fmt.Errorf("faults: unknown key %q (rate, seed, kinds, ua, methods)", k)
		}
	}
	return f, nil
}

type faultInjector struct {
	mu       sync.Mutex
	spec     faultSpec
	rng      *rand.Rand
	counts   map[string]map[string]int // agent -> kind -> n
	total    int
	dirty    bool
	file     string // DIR/faults, re-read when its mtime changes
	fileMod  time.Time
	countsAt string // DIR/faults-injected.json
}

func newFaultInjector(dir, spec string) (*faultInjector, error) {
	f, err := parseFaultSpec(spec)
	if err != nil {
		return nil, err
	}
	fi := &faultInjector{spec: f, rng: rand.New(rand.NewSource(f.seed)), counts: map[string]map[string]int{},
		file: filepath.Join(dir, "faults"), countsAt: filepath.Join(dir, "faults-injected.json"), dirty: true}
	return fi, nil
}

// run re-reads DIR/faults and writes the counters until ctx ends.
func (fi *faultInjector) run(ctx context.Context) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		fi.reload()
		fi.writeCounts()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (fi *faultInjector) reload() {
	st, err := os.Stat(fi.file)
	if err != nil || st.ModTime().Equal(fi.fileMod) {
		return
	}
	fi.fileMod = st.ModTime()
	b, err := os.ReadFile(fi.file)
	if err != nil {
		return
	}
	spec, err := parseFaultSpec(string(b))
	if err != nil {
		klog.ErrorS(err, "sandbox: DIR/faults ignored")
		return
	}
	fi.mu.Lock()
	fi.spec = spec
	fi.rng = rand.New(rand.NewSource(spec.seed))
	fi.dirty = true
	fi.mu.Unlock()
	klog.InfoS("sandbox: faults", "spec", spec.text)
}

func (fi *faultInjector) writeCounts() {
	fi.mu.Lock()
	if !fi.dirty {
		fi.mu.Unlock()
		return
	}
	fi.dirty = false
	b, _ := json.MarshalIndent(map[string]any{"spec": fi.spec.text, "rate": fi.spec.rate,
		"total": fi.total, "byAgent": fi.counts}, "", "  ")
	fi.mu.Unlock()
	tmp := fi.countsAt + ".tmp"
	if os.WriteFile(tmp, append(b, '\n'), 0o644) == nil {
		_ = os.Rename(tmp, fi.countsAt)
	}
}

// pick decides one request's fault: kind "" for none; agent "" when the
// request is not targeted.
func (fi *faultInjector) pick(r *http.Request, watch bool) (kind, agent string, delay time.Duration) {
	ua := r.UserAgent()
	fi.mu.Lock()
	defer fi.mu.Unlock()
	targeted := false
	for _, p := range fi.spec.ua {
		targeted = targeted || (p != "" && strings.HasPrefix(ua, p))
	}
	if !targeted {
		return "", "", 0
	}
	agent, _, _ = strings.Cut(ua, "/")
	method := fi.spec.methods == nil
	for _, m := range fi.spec.methods {
		method = method || m == r.Method
	}
	if !method || fi.spec.rate <= 0 || fi.rng.Float64() >= fi.spec.rate {
		return "", agent, 0
	}
	var kinds []string
	for _, k := range fi.spec.kinds {
		if watch || !strings.HasPrefix(k, "watch-") {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		return "", agent, 0
	}
	kind = kinds[fi.rng.Intn(len(kinds))]
	fi.countLocked(agent, kind)
	fi.total++
	return kind, agent, 500*time.Millisecond + time.Duration(fi.rng.Int63n(int64(2500*time.Millisecond)))
}

func (fi *faultInjector) count(agent, what string) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.countLocked(agent, what)
}

func (fi *faultInjector) countLocked(agent, what string) {
	if fi.counts[agent] == nil {
		fi.counts[agent] = map[string]int{}
	}
	fi.counts[agent][what]++
	fi.dirty = true
}

// statusRecorder notes the status a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func writeStatus(w http.ResponseWriter, code int, reason, msg string, retryAfter bool) {
	if retryAfter {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Sandbox-Fault", strconv.Itoa(code))
	w.WriteHeader(code)
	b, _ := json.Marshal(map[string]any{"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": msg, "reason": reason, "code": code})
	_, _ = w.Write(b)
}

// bufferedWriter keeps a non-watch answer so that part of it can be sent.
type bufferedWriter struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.h }
func (b *bufferedWriter) WriteHeader(code int)        { b.status = code }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }

func (fi *faultInjector) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, _ := request.RequestInfoFrom(r.Context())
		watch := info != nil && info.Verb == "watch"
		kind, agent, delay := fi.pick(r, watch)
		if kind == "" && agent != "" && !watch {
			// A targeted request without a fault: its 429 and 5xx answers
			// are counted too ("real-429"), so that a client's retries can
			// be compared with every retryable answer it got.
			rec := &statusRecorder{ResponseWriter: w, code: 200}
			next.ServeHTTP(rec, r)
			if rec.code == 429 || rec.code >= 500 {
				fi.count(agent, "real-"+strconv.Itoa(rec.code))
				klog.InfoS("sandbox: real error answer to a targeted client", "code", rec.code, "agent", agent, "method", r.Method, "uri", r.URL.RequestURI())
			}
			return
		}
		if kind == "" {
			next.ServeHTTP(w, r)
			return
		}
		klog.InfoS("sandbox: fault injected", "kind", kind, "agent", agent, "method", r.Method, "uri", r.URL.RequestURI())
		switch kind {
		case "500":
			writeStatus(w, 500, "InternalError", "Internal error occurred: sandbox fault injection", false)
		case "429":
			writeStatus(w, 429, "TooManyRequests", "Too many requests, please try again later. (sandbox fault injection)", true)
		case "503":
			writeStatus(w, 503, "ServiceUnavailable", "The server is currently unable to handle the request (sandbox fault injection)", true)
		case "watch-410":
			msg := "too old resource version (sandbox fault injection)"
			if delay%2 == 0 {
				writeStatus(w, 410, "Expired", msg, false)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			b, _ := json.Marshal(map[string]any{"type": "ERROR", "object": map[string]any{
				"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{}, "status": "Failure",
				"message": msg, "reason": "Expired", "code": 410}})
			_, _ = w.Write(append(b, '\n'))
		case "watch-end":
			ctx, cancel := context.WithTimeout(r.Context(), delay)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		case "drop":
			if watch {
				ctx, cancel := context.WithTimeout(r.Context(), delay)
				next.ServeHTTP(w, r.WithContext(ctx))
				cancel()
				panic(http.ErrAbortHandler)
			}
			bw := &bufferedWriter{h: w.Header(), status: 200}
			next.ServeHTTP(bw, r)
			w.Header().Set("Content-Length", strconv.Itoa(bw.body.Len()))
			w.WriteHeader(bw.status)
			_, _ = w.Write(bw.body.Bytes()[:bw.body.Len()/2])
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			panic(http.ErrAbortHandler) // the connection (or HTTP/2 stream) is reset
		}
	})
}
