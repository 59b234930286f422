/* The threshold model's interactive mode: its automatic segmentation, corrected by clicks. */
#ifndef PODIUM_EXAMPLE_INTERACTIVE_H
#define PODIUM_EXAMPLE_INTERACTIVE_H

/* `predict CSV INPUT_DIR OUTPUT_DIR [INBOX]`: every case of the case list, in its
 * order. A case whose INPUT_DIR/<case>_clicks.json exists is static (TriALS 2025:
 * OUTPUT_DIR/<case>/<case>_<k>.nii.gz for k = 0..N from the first k clicks of each
 * kind); any other is answered request by request through the closed loop's INBOX
 * (default /clicks). Returns the process exit status. */
int interactive_main(const char *csv, const char *in_dir, const char *out_dir, const char *inbox);

#endif
