#pragma once
// A clean stop of a training job: SIGINT or SIGTERM (Ctrl-C, Stop in the workbench, a preemption)
// asks the job to stop after its current step with a checkpoint; a second signal ends the process
// at once (checkpoint saves are crash-safe, so that loses at most the unsaved steps).
namespace hy3 {

// Installs the SIGINT/SIGTERM handlers.
void installStopSignalHandlers();
// True once a stop was asked for (by a signal or requestStop()).
bool stopRequested();
void requestStop();
// Forgets an earlier request (a new job in the same process).
void resetStopRequest();

}  // namespace hy3
