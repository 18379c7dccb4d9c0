package gpu

import (
	"errors"
	"sync"
	"testing"
)

// TestCloseRacesWithCalls closes a device while other goroutines keep
// using it. Run it under the race detector (go test -race -run
// TestCloseRacesWithCalls ./gpu/): every call must either work or return
// ErrClosed, with no data race and no crash.
func TestCloseRacesWithCalls(t *testing.T) {
	d, err := Open(Options{})
	if err != nil {
		t.Fatalf("no GPU adapter: %v\nInstall the software Vulkan driver: apt-get install -y mesa-vulkan-drivers libvulkan1", err)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, 64)
	ok := func(what string, err error) {
		if err != nil && !errors.Is(err, ErrClosed) {
			errs <- errors.New(what + ": " + err.Error())
		}
	}
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			<-start
			for i := 0; i < 50; i++ {
				switch (g + i) % 4 {
				case 0:
					b, err := d.NewBuffer("racer", F32, 16)
					ok("NewBuffer", err)
					if err == nil {
						b.Release()
					}
				case 1:
					ok("Poll", d.Poll())
				case 2:
					ok("Mark.Wait", d.Mark().Wait())
				case 3:
					e, err := d.NewEncoder("racer")
					ok("NewEncoder", err)
					if err == nil {
						ok("Submit", e.Submit())
					}
				}
			}
		}(g)
	}
	close(start)
	d.Close()
	d.Close() // twice is harmless
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := d.check(); !errors.Is(err, ErrClosed) {
		t.Fatalf("check after Close: %v, want ErrClosed", err)
	}
}
