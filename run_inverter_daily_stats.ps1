<#
.SYNOPSIS
  The daily job for Windows: what the scheduled task runs (the counterpart of
  run_inverter_daily_stats.sh).

.DESCRIPTION
  Runs from its own folder whatever the current directory, creates .venv from
  requirements.txt when missing, keeps one run at a time, appends timestamped output to
  logs\daily.log (rotated past 1 MB, 5 old files kept) and exits with the job's status:
  0 done, 1 the run failed, 2 usage or config error.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File run_inverter_daily_stats.ps1
  powershell -ExecutionPolicy Bypass -File run_inverter_daily_stats.ps1 -InstallTask 04:00
  powershell -ExecutionPolicy Bypass -File run_inverter_daily_stats.ps1 -- --config C:\solar\home.json
#>
param(
    [string]$InstallTask = "",
    [Parameter(ValueFromRemainingArguments = $true)][string[]]$JobArgs = @()
)

$ErrorActionPreference = "Stop"
$Here = Split-Path -Parent $MyInvocation.MyCommand.Path
Set-Location $Here
$Venv = Join-Path $Here ".venv"
$Python = Join-Path $Venv "Scripts\python.exe"
$LogFile = if ($env:LOG_FILE) { $env:LOG_FILE } else { Join-Path $Here "logs\daily.log" }
$LogMaxBytes = 1000000
$LogKeep = 5
$TaskName = "Enphase panel tracker"

if ($InstallTask) {
    if ($InstallTask -notmatch '^([01]?\d|2[0-3]):[0-5]\d$') {
        [Console]::Error.WriteLine("error: -InstallTask takes a time as HH:MM, e.g. 04:00")
        exit 2
    }
    $action = New-ScheduledTaskAction -Execute "powershell.exe" `
        -Argument "-NoProfile -ExecutionPolicy Bypass -File `"$($MyInvocation.MyCommand.Path)`"" `
        -WorkingDirectory $Here
    $trigger = New-ScheduledTaskTrigger -Daily -At $InstallTask
    # Register-ScheduledTask -Force replaces an earlier task of the same name: never two.
    Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Force | Out-Null
    Write-Output "scheduled task '$TaskName' runs daily at $InstallTask; output in $LogFile"
    exit 0
}

if (-not (Test-Path $Python)) {
    Write-Output "setting up $Venv from requirements.txt (first run only) ..."
    & py -3 -m venv $Venv
    if ($LASTEXITCODE -ne 0) { [Console]::Error.WriteLine("error: could not create $Venv; install Python 3.10+ from python.org"); exit 2 }
    & $Python -m pip install --quiet --disable-pip-version-check -r requirements.txt
    if ($LASTEXITCODE -ne 0) { [Console]::Error.WriteLine("error: could not install requirements into $Venv"); exit 2 }
}

New-Item -ItemType Directory -Force -Path (Split-Path -Parent $LogFile) | Out-Null
if ((Test-Path $LogFile) -and ((Get-Item $LogFile).Length -ge $LogMaxBytes)) {
    for ($n = $LogKeep - 1; $n -ge 1; $n--) {
        if (Test-Path "$LogFile.$n") { Move-Item -Force "$LogFile.$n" "$LogFile.$($n + 1)" }
    }
    Move-Item -Force $LogFile "$LogFile.1"
}

# One run at a time: a named mutex is released by Windows if the process dies.
$mutex = New-Object System.Threading.Mutex($false, "Global\EnphasePanelTracker")
if (-not $mutex.WaitOne([TimeSpan]::FromSeconds(60))) {
    [Console]::Error.WriteLine("error: another run is still running after 60 s; not starting a second one")
    exit 1
}
try {
    & $Python (Join-Path $Here "run_inverter_daily_stats.py") @JobArgs 2>&1 | ForEach-Object {
        $line = "$(Get-Date -Format 'yyyy-MM-dd HH:mm:ss') $_"
        Add-Content -Path $LogFile -Value $line
        Write-Output $line
    }
    $status = $LASTEXITCODE
} finally {
    $mutex.ReleaseMutex()
}
exit $status
