/*
 * The meter is one module for the appliance and the host:
 * firmware/transport/mr_progress.h. This name stays only for the files
 * that still include it; new code includes "mr_progress.h".
 */
#include "mr_progress.h"
