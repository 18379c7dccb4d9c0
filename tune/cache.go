// Package tune measures, on the adapter at hand, which kernel plan runs
// each pass of a run fastest, keeping only candidates whose results agree
// with a reference, and caches the choices in the user's cache directory.
// Its Kernels give the plan (package plan) the cached choices, and the
// heuristic's where none is cached: the measured-plan approach of cuDNN's
// benchmark mode, TVM's tuned schedules and ncnn's per-GPU choices.
package tune

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
)

// cacheSchema names the cache file's format.
const cacheSchema = "stylize-tune/1"

// Choice is the measured best plan of one pass, with the times that chose
// it: the heuristic plan's and the chosen one's, in milliseconds.
type Choice struct {
	Conv        *ops.ConvPlan `json:"conv,omitempty"`
	Gram        *ops.GramPlan `json:"gram,omitempty"`
	MS          float64       `json:"ms"`
	HeuristicMS float64       `json:"heuristic_ms"`
	Candidates  int           `json:"candidates"`
}

// adapterEntry is one adapter's choices, valid for one kernel version.
type adapterEntry struct {
	Kernels string            `json:"kernels"` // ops.KernelVersion when measured
	Choices map[string]Choice `json:"choices"` // by Shape.Key
}

// cacheFile is the file's content: every adapter's choices.
type cacheFile struct {
	Schema   string                  `json:"schema"`
	Adapters map[string]adapterEntry `json:"adapters"` // by AdapterKey
}

// Cache is the tuning cache of one adapter, backed by a file it shares
// with other adapters' caches.
type Cache struct {
	Path    string
	Adapter string // AdapterKey
	Choices map[string]Choice

	file cacheFile
}

// AdapterKey identifies an adapter's measurements: its name, driver and
// backend.
func AdapterKey(info gpu.AdapterInfo) string {
	return fmt.Sprintf("%s | %s | %s", info.Name, info.Driver, info.Backend)
}

// DefaultPath is the cache file in the user's cache directory
// (STYLIZE_CACHE overrides the directory).
func DefaultPath() (string, error) {
	dir := os.Getenv("STYLIZE_CACHE")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("tune: no cache directory: %w", err)
		}
		dir = filepath.Join(base, "stylize")
	}
	return filepath.Join(dir, "tune.json"), nil
}

// ErrStale marks a cache whose choices were measured with other kernels,
// or that could not be read: it is used empty.
var ErrStale = errors.New("tune: cache ignored")

// Load reads the choices of adapter from the file at path. A missing file
// is an empty cache. A damaged file, or choices made with another kernel
// version, give an empty cache and an error wrapping ErrStale to warn
// about; the file is rewritten on Save.
func Load(path, adapter string) (*Cache, error) {
	c := &Cache{Path: path, Adapter: adapter, Choices: map[string]Choice{},
		file: cacheFile{Schema: cacheSchema, Adapters: map[string]adapterEntry{}}}
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("%w: %s: %v", ErrStale, path, err)
	}
	var f cacheFile
	if err := json.Unmarshal(raw, &f); err != nil || f.Schema != cacheSchema || f.Adapters == nil {
		if err == nil {
			err = fmt.Errorf("schema %q, want %q", f.Schema, cacheSchema)
		}
		return c, fmt.Errorf("%w: %s is damaged (%v); it will be rewritten", ErrStale, path, err)
	}
	c.file = f
	e, ok := f.Adapters[adapter]
	if !ok {
		return c, nil
	}
	if e.Kernels != ops.KernelVersion {
		return c, fmt.Errorf("%w: %s holds choices for kernels %q, these are %q: retune", ErrStale, path, e.Kernels, ops.KernelVersion)
	}
	for k, v := range e.Choices {
		if err := v.check(); err != nil {
			return &Cache{Path: path, Adapter: adapter, Choices: map[string]Choice{}, file: f},
				fmt.Errorf("%w: %s: choice %q %v", ErrStale, path, k, err)
		}
		c.Choices[k] = v
	}
	return c, nil
}

// Save writes the cache atomically (a temporary file renamed over it),
// keeping the other adapters' entries.
func (c *Cache) Save() error {
	c.file.Schema = cacheSchema
	if c.file.Adapters == nil {
		c.file.Adapters = map[string]adapterEntry{}
	}
	c.file.Adapters[c.Adapter] = adapterEntry{Kernels: ops.KernelVersion, Choices: c.Choices}
	raw, err := json.MarshalIndent(c.file, "", " ")
	if err != nil {
		return fmt.Errorf("tune: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(c.Path), 0o755); err != nil {
		return fmt.Errorf("tune: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.Path), ".tune-*.json")
	if err != nil {
		return fmt.Errorf("tune: %w", err)
	}
	_, werr := tmp.Write(append(raw, '\n'))
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("tune: write %s: %v", c.Path, errors.Join(werr, cerr))
	}
	if err := os.Rename(tmp.Name(), c.Path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("tune: %w", err)
	}
	return nil
}

// check says what makes a choice read from a file unusable: no single
// plan, or a plan no pass could run (its fit to the pass's K and to the
// adapter is checked where it is used, by Kernels).
func (c Choice) check() error {
	switch {
	case (c.Conv == nil) == (c.Gram == nil):
		return errors.New("names no single plan")
	case c.Conv != nil && c.Conv.Algo != ops.Direct && !c.Conv.Algo.Winograd():
		return fmt.Errorf("names an unknown algorithm %d", c.Conv.Algo)
	case c.Conv != nil && c.Conv.Algo.Winograd() && (!c.Conv.Tile.Reg || c.Conv.Split > 1):
		return fmt.Errorf("names a Winograd plan that is split or has no register tile: %v", c.Conv)
	case c.Conv != nil && (c.Conv.Split < 0 || c.Conv.Chunk < 0 || c.Conv.Tile.TK <= 0):
		return fmt.Errorf("names an impossible plan %v", c.Conv)
	case c.Gram != nil && (c.Gram.Split < 1 || c.Gram.Chunk <= 0 || c.Gram.Tile.TK <= 0 || c.Gram.Tile.Reg && c.Gram.Tile.TM != c.Gram.Tile.TN):
		return fmt.Errorf("names an impossible Gram plan %v", c.Gram)
	}
	return nil
}
