# Resume after a killed run: the main process holds carvis' kernel lock on the working folder and clears
# the snakemake locks a killed run left behind (carvis.core.runlock); profiles/default reruns incomplete jobs.
from carvis.core.runlock import OrphanJobs, claim

if workflow.is_main_process:
    try:
        _claim = claim(Path.cwd())
    except OrphanJobs as exc:
        raise WorkflowError(str(exc)) from None
    if _claim.removed:
        print(
            "carvis: an earlier run here was killed; removed its locks and resuming "
            "(its incomplete outputs are made again)",
            file=sys.stderr,
        )
