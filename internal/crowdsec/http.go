package crowdsec

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// userAgent must have the form name/version: LAPI 1.4 takes the machine's
// version from it and refuses a login without one.
const userAgent = "xdpban/1"

// newHTTPClient bounds connecting and waiting for headers, not the body:
// a large snapshot may take a while to stream.
func newHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		ResponseHeaderTimeout: 30 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   2,
	}}
}

// baseURL checks a LAPI URL as given to --crowdsec-url.
func baseURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not a Local API base URL (give one like http://127.0.0.1:8080/)", s)
	}
	return u, nil
}

// CheckURL reports whether s can be a Local API base URL.
func CheckURL(s string) error {
	_, err := baseURL(s)
	return err
}

// statusError describes a non-2xx answer with LAPI's message, trimmed.
func statusError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	msg := strings.Join(strings.Fields(string(body)), " ")
	if msg == "" {
		return fmt.Errorf("lapi answered %s", resp.Status)
	}
	return fmt.Errorf("lapi answered %s: %q", resp.Status, msg)
}

var errUnauthorized = errors.New("lapi refused the credentials")
