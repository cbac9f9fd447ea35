package loadgen

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc's CPU times (100 on Linux for
// every architecture Go supports).
const clockTicks = 100

// ProcCPU returns the CPU seconds (user + system, every thread) a process
// has used, from /proc/PID/stat.
func ProcCPU(pid int) (float64, error) {
	st, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	return st.cpu, nil
}

type stat struct {
	ppid int
	cpu  float64
}

func procStat(pid int) (stat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return stat{}, err
	}
	return parseStat(b)
}

// parseStat reads /proc/PID/stat: the command is in parentheses and may hold
// spaces and parentheses, so the fields are counted after the last ')'.
func parseStat(b []byte) (stat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, errors.New("proc stat: no command")
	}
	f := strings.Fields(string(b[i+1:]))
	// After the command: state(0) ppid(1) ... utime(11) stime(12).
	if len(f) < 13 {
		return stat{}, errors.New("proc stat: too few fields")
	}
	ppid, err1 := strconv.Atoi(f[1])
	ut, err2 := strconv.ParseFloat(f[11], 64)
	stt, err3 := strconv.ParseFloat(f[12], 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return stat{}, err
	}
	return stat{ppid: ppid, cpu: (ut + stt) / clockTicks}, nil
}

// TreeCPU returns the CPU seconds of pid and of its descendants alive now
// (a server's FFmpeg children, nginx's workers).
func TreeCPU(pid int) (float64, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	all := map[int]stat{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := procStat(p); err == nil {
			all[p] = st
		}
	}
	root, ok := all[pid]
	if !ok {
		return 0, os.ErrNotExist
	}
	total := root.cpu
	in := map[int]bool{pid: true}
	// Parents have lower pids mostly, but not always: repeat until stable.
	for changed := true; changed; {
		changed = false
		for p, st := range all {
			if !in[p] && in[st.ppid] {
				in[p], changed = true, true
				total += st.cpu
			}
		}
	}
	return total, nil
}

// MachineBusy returns the busy and total CPU seconds of the machine (every
// core) from /proc/stat; the rate of busy over wall time is cores in use.
func MachineBusy() (busy, total float64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, errors.New("proc stat: no cpu line")
	}
	for i, s := range f[1:] {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, 0, err
		}
		if i >= 8 { // guest times are counted in user already
			break
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy / clockTicks, total / clockTicks, nil
}
