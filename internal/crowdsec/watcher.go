package crowdsec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"time"
)

// Scenario names xdpban's alerts on LAPI.
const Scenario = "xdpban/oftp2-tls"

// Origin is the origin LAPI records for decisions of xdpban's alerts.
const Origin = "xdpban"

// permanentDuration stands in for a ban without end: LAPI decisions
// always end, and they take Go durations only (no days).
const permanentDuration = 10 * 365 * 24 * time.Hour

// watcher speaks the machine side of LAPI: a JWT from /v1/watchers/login,
// renewed when LAPI answers 401.
type watcher struct {
	base     *url.URL
	machine  string
	password string
	client   *http.Client

	mu    sync.Mutex
	token string
}

func (w *watcher) login(ctx context.Context) (string, error) {
	body, _ := json.Marshal(map[string]any{"machine_id": w.machine, "password": w.password, "scenarios": []string{Scenario}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.base.JoinPath("v1", "watchers", "login").String(), bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := w.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			return "", fmt.Errorf("log in as machine %q: %w (check --crowdsec-machine and the password file; `cscli machines list`)", w.machine, errUnauthorized)
		}
		return "", fmt.Errorf("log in as machine %q: %w", w.machine, statusError(resp))
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		return "", fmt.Errorf("log in as machine %q: lapi sent no token", w.machine)
	}
	return out.Token, nil
}

// do sends a request with the JWT, logging in first when there is none
// and once more when LAPI says the token expired.
func (w *watcher) do(ctx context.Context, method string, u *url.URL, body []byte) error {
	for attempt := 0; ; attempt++ {
		w.mu.Lock()
		token := w.token
		w.mu.Unlock()
		if token == "" {
			t, err := w.login(ctx)
			if err != nil {
				return err
			}
			w.mu.Lock()
			w.token, token = t, t
			w.mu.Unlock()
		}
		req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", userAgent)
		resp, err := w.client.Do(req)
		if err != nil {
			return err
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			resp.Body.Close()
			w.mu.Lock()
			w.token = ""
			w.mu.Unlock()
			continue
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return statusError(resp)
		}
		return nil
	}
}

// alert is the body of POST /v1/alerts. LAPI 1.4 requires every field,
// events included, and answers 500 when one is missing.
type alert struct {
	Scenario        string          `json:"scenario"`
	ScenarioHash    string          `json:"scenario_hash"`
	ScenarioVersion string          `json:"scenario_version"`
	Message         string          `json:"message"`
	EventsCount     int             `json:"events_count"`
	StartAt         string          `json:"start_at"`
	StopAt          string          `json:"stop_at"`
	Capacity        int             `json:"capacity"`
	Leakspeed       string          `json:"leakspeed"`
	Simulated       bool            `json:"simulated"`
	Events          []struct{}      `json:"events"`
	Remediation     bool            `json:"remediation"`
	Source          alertSource     `json:"source"`
	Decisions       []alertDecision `json:"decisions"`
}

type alertSource struct {
	Scope string `json:"scope"`
	Value string `json:"value"`
	IP    string `json:"ip,omitempty"`
	Range string `json:"range,omitempty"`
}

type alertDecision struct {
	Duration string `json:"duration"`
	Origin   string `json:"origin"`
	Scenario string `json:"scenario"`
	Scope    string `json:"scope"`
	Type     string `json:"type"`
	Value    string `json:"value"`
}

// scopeValue is how LAPI names p: an Ip for a single address, else a Range.
func scopeValue(p netip.Prefix) (scope, value string) {
	if p.IsSingleIP() {
		return "Ip", p.Addr().String()
	}
	return "Range", p.String()
}

// alertFor builds the alert of one jail ban, or false when it has ended.
func alertFor(it Push, now time.Time) (alert, bool) {
	d := permanentDuration
	if !it.Until.IsZero() {
		d = it.Until.Sub(now).Round(time.Second)
		if d < time.Second {
			return alert{}, false
		}
	}
	scope, value := scopeValue(it.Prefix)
	src := alertSource{Scope: scope, Value: value}
	if scope == "Ip" {
		src.IP = value
	} else {
		src.Range = value
	}
	at := it.At
	if at.IsZero() {
		at = now
	}
	return alert{
		Scenario:    Scenario,
		Message:     fmt.Sprintf("%s %s banned by xdpban after %d failed TLS handshakes", scope, value, max(it.Events, 1)),
		EventsCount: max(it.Events, 1),
		StartAt:     at.UTC().Format(time.RFC3339),
		StopAt:      at.UTC().Format(time.RFC3339),
		Leakspeed:   "0",
		Events:      []struct{}{},
		Remediation: true,
		Source:      src,
		Decisions: []alertDecision{{
			Duration: d.String(), Origin: Origin, Scenario: Scenario,
			Scope: scope, Type: "ban", Value: value,
		}},
	}, true
}

func (w *watcher) postAlerts(ctx context.Context, alerts []alert) error {
	body, err := json.Marshal(alerts)
	if err != nil {
		return err
	}
	return w.do(ctx, http.MethodPost, w.base.JoinPath("v1", "alerts"), body)
}

// deleteDecisions removes the decisions within p: for an address its own
// ones, never a wider range that contains it (contains=false; LAPI 1.4
// deletes by ip or range only, not by scope and value).
func (w *watcher) deleteDecisions(ctx context.Context, p netip.Prefix) error {
	key := "range"
	if p.IsSingleIP() {
		key = "ip"
	}
	_, value := scopeValue(p)
	u := w.base.JoinPath("v1", "decisions")
	u.RawQuery = url.Values{key: {value}, "contains": {"false"}}.Encode()
	return w.do(ctx, http.MethodDelete, u, nil)
}
