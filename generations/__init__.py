"""The generations app: uploads (assets), jobs (generations and their event log), result
videos, the one way to ask for a video (``spec``), and the pipeline that runs a job."""
