package recording

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"tolk/internal/fmp4"
)

// File is what a run is written to; *os.File is one. Tests give a File that
// runs out of space.
type File interface {
	io.WriterAt
	io.ReaderAt
	Sync() error
	Truncate(size int64) error
	Close() error
}

// CreateFunc creates a new run file at path, failing if it exists.
type CreateFunc func(path string) (File, error)

func createFile(path string) (File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
}

// lock takes an exclusive advisory lock on a run file being recorded (if it
// is a real file), so that another process on the same data directory
// neither recovers it nor lists it as finished. The kernel releases it when
// the process ends, however it ends.
func lock(f File) {
	if fd, ok := f.(interface{ Fd() uintptr }); ok {
		_ = syscall.Flock(int(fd.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
}

// lockedElsewhere says whether another process records into the file at
// path now.
func lockedElsewhere(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}

// runFile is a run file being written: header, then whole fragments.
type runFile struct {
	f      File
	path   string
	size   int64 // bytes written and kept: the end of the last whole fragment
	header int64 // bytes of the header (ftyp, meta, moov)
}

// createRun creates the file of a run at dir/{id}.mp4, choosing the first
// free id for the epoch's second, and writes its header.
func createRun(create CreateFunc, dir string, meta Meta, specs []fmp4.TrackSpec) (*runFile, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("recordings directory: %w", err)
	}
	moov, err := fmp4.Init(specs)
	if err != nil {
		return nil, err
	}
	for n := 1; n <= 100; n++ {
		meta.Run = runID(meta.Epoch, n)
		path := filepath.Join(dir, meta.Run+Ext)
		f, err := create(path)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create run file: %w", err)
		}
		lock(f)
		mb, err := meta.box()
		if err != nil {
			f.Close()
			os.Remove(path)
			return nil, err
		}
		header := append(append(fmp4.Ftyp(), mb...), moov...)
		rf := &runFile{f: f, path: path, header: int64(len(header))}
		if err := rf.append(header); err != nil {
			f.Close()
			os.Remove(path)
			return nil, err
		}
		// The file's name must survive a power cut with its data.
		syncDir(dir)
		return rf, nil
	}
	return nil, fmt.Errorf("create run file: 100 runs started at %s", meta.Epoch.UTC().Format(runIDLayout))
}

// Base is the run's id: the file's name without its extension.
func (rf *runFile) Base() string {
	return strings.TrimSuffix(filepath.Base(rf.path), Ext)
}

// append writes b whole at the end of the file. A short write (the disk
// filled up) is cut off again, so the file keeps ending on a whole box.
func (rf *runFile) append(b []byte) error {
	n, err := rf.f.WriteAt(b, rf.size)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		if n > 0 {
			_ = rf.f.Truncate(rf.size) // best effort: the scan would drop it anyway
		}
		return fmt.Errorf("write run file: %w", err)
	}
	rf.size += int64(n)
	return nil
}

// close finalises the run (see finalize) and closes the file. A run
// without fragments is removed.
func (rf *runFile) close() (*index, error) {
	ix, err := finalize(rf.f, rf.size)
	cerr := rf.f.Close()
	if errors.Is(err, errEmpty) {
		os.Remove(rf.path)
		return nil, err
	}
	if err == nil {
		err = cerr
	}
	return ix, err
}

// errEmpty means a run file holds no whole fragment: nothing was recorded.
var errEmpty = errors.New("run holds no media")

// finalize makes a run file whole: it scans it, cuts off what follows the
// last whole fragment (a fragment torn by a crash, or a full disk), appends
// an mfra indexing every fragment and syncs. A file that is already
// finalised is left as it is. It returns the index of the file.
func finalize(f File, size int64) (*index, error) {
	ix, err := scan(f, size)
	if err != nil {
		return nil, err
	}
	if ix.closed {
		return ix, nil
	}
	if len(ix.frags) == 0 {
		return ix, errEmpty
	}
	if ix.good < size {
		if err := f.Truncate(ix.good); err != nil {
			return ix, fmt.Errorf("cut torn fragment: %w", err)
		}
	}
	if b := ix.closingFragment(); b != nil {
		// The captions of a killed run end a hold before its audio: close
		// them with an empty sample, so every track lasts the run. Without
		// room for it, the run ends as it is.
		if _, err := f.WriteAt(b, ix.good); err == nil {
			if err := ix.scanFrom(f, ix.good+int64(len(b))); err != nil {
				return ix, err
			}
		} else {
			_ = f.Truncate(ix.good)
		}
	}
	if _, err := f.WriteAt(ix.mfra(), ix.good); err != nil {
		_ = f.Truncate(ix.good)
		return ix, fmt.Errorf("write index: %w", err)
	}
	if err := f.Sync(); err != nil {
		return ix, fmt.Errorf("sync: %w", err)
	}
	ix.closed = true
	return ix, nil
}

// recoverFile finalises the run file at path, which a killed process left
// behind. It returns the index, or errEmpty if the file was removed for
// holding no media.
func recoverFile(path string) (*index, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	ix, err := finalize(f, st.Size())
	cerr := f.Close()
	if errors.Is(err, errEmpty) || errors.Is(err, errNoHeader) {
		os.Remove(path)
		return nil, errEmpty
	}
	if err == nil {
		err = cerr
	}
	return ix, err
}

// syncDir syncs a directory, so that a file created in it survives a power
// cut. Errors are ignored: some file systems cannot sync directories.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	d.Close()
}

// isNoSpace says whether err means the disk (or the quota) is full.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
