package main

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"
)

// applyConfigFile reads --config and sets every flag that neither the
// command line nor the environment set. Unknown keys are errors: a typo
// must not silently leave a default in force. The file holds run's keys;
// other commands (status, ban, ...) take from it the keys they have
// flags for, so a non-default pin dir or socket is written in one place.
// Given only, it takes just those keys: detach's --iface narrows what it
// removes, so run's iface list must not reach it.
func applyConfigFile(c *cli.Context, only ...string) error {
	path := c.String("config")
	if path == "" {
		return nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(raw, &values); err != nil {
		// yaml lists one problem per line; an error is one line.
		msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "yaml: unmarshal errors:", "")), " ")
		return fmt.Errorf("config %s: not valid YAML: %s", path, msg)
	}
	known := map[string]bool{}
	isList := map[string]bool{}
	for _, f := range runFlags() {
		_, list := f.(*cli.StringSliceFlag)
		for _, n := range f.Names() {
			known[n] = true
			isList[n] = list
		}
	}
	mine := map[string]bool{}
	for _, f := range c.Command.Flags {
		for _, n := range f.Names() {
			mine[n] = true
		}
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if !known[key] || key == "config" {
			return fmt.Errorf("config %s: unknown key %q (keys are the flag names of `xdpban run --help`)", path, key)
		}
		if !mine[key] || c.IsSet(key) || (len(only) > 0 && !slices.Contains(only, key)) {
			continue // another command's key; the command line and XDPBAN_* win
		}
		items, err := configStrings(values[key])
		if err != nil {
			return fmt.Errorf("config %s: key %q: %w", path, key, err)
		}
		if _, list := values[key].([]any); list && !isList[key] {
			return fmt.Errorf("config %s: key %q takes one value, not a list", path, key)
		}
		for _, v := range items {
			if err := c.Set(key, v); err != nil {
				// The flag package says only "parse error": name the value.
				return fmt.Errorf("config %s: key %q: invalid value %q: %w (see `xdpban run --help`)", path, key, v, err)
			}
		}
	}
	return nil
}

// configStrings turns a YAML value into the flag strings it stands for.
func configStrings(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return []string{""}, nil
	case string:
		return []string{x}, nil
	case bool:
		return []string{strconv.FormatBool(x)}, nil
	case int:
		return []string{strconv.Itoa(x)}, nil
	case float64:
		return []string{strconv.FormatFloat(x, 'g', -1, 64)}, nil
	case []any:
		var out []string
		for _, item := range x {
			s, err := configStrings(item)
			if err != nil {
				return nil, err
			}
			if slices.ContainsFunc(s, func(e string) bool { return e == "" }) {
				return nil, fmt.Errorf("empty list item")
			}
			out = append(out, s...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported value %v (%T)", v, v)
}

// configFlag is --config for the commands besides run.
func configFlag() *cli.StringFlag {
	return str("config", "", "read --pin-dir, --control-socket and --state-dir from the `FILE` run uses")
}
