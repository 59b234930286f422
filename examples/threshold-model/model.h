/* The threshold model's build-time knobs (gcc -D...) and its automatic segmentation. */
#ifndef PODIUM_EXAMPLE_MODEL_H
#define PODIUM_EXAMPLE_MODEL_H

#include "nifti.h"

/* So the demo can field teams of different skill (README.md, "Build-time knobs"). */
#ifndef TOLERANCE_HU
#define TOLERANCE_HU 10.0f
#endif
#ifndef MIN_LESION_VOXELS
#define MIN_LESION_VOXELS 5
#endif
#ifndef EDGE_FRACTION
#define EDGE_FRACTION 0.4f
#endif

/* Fills mask with the lesions of vol (whose data it smooths in place) and *liver with
 * the liver's intensity; returns how many lesions, or -1 without memory. */
int segment(Volume *vol, unsigned char *mask, float *liver);

#endif
