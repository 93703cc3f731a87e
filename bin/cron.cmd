@echo off
rem itop-cron for the Windows Task Scheduler: the counterpart of iTop's webservices\cron.cmd.
rem Runs one pass with the cron.params next to this file and appends its output to a log file.
rem Schedule it every 5 minutes (see README, "Windows"):
rem   schtasks.exe /create /tn "iTop cron" /sc minute /mo 5 /tr "C:\itop-cron\cron.cmd" /ru "NT AUTHORITY\NETWORK SERVICE"
rem Extra arguments are passed on, e.g.  cron.cmd --status_only=1
setlocal

rem The directory of this file, with a trailing backslash (the Task Scheduler starts in System32,
rem so nothing may be relative to the working directory).
set "CRON_PATH=%~dp0"

rem The log, as iTop's cron.cmd: ..\log\cron.log (iTop's log directory when this file sits in
rem iTop's webservices directory). Change it here if you keep this file elsewhere.
set "CRON_LOG_DIR=%CRON_PATH%..\log"
if not exist "%CRON_LOG_DIR%" mkdir "%CRON_LOG_DIR%"

rem Next to the package's own entry point (bin\itop-cron.js) use it; anywhere else, the itop-cron
rem command that "npm install -g" puts on the PATH. CALL is needed: itop-cron is itself a .cmd file.
if exist "%CRON_PATH%itop-cron.js" (
  call node "%CRON_PATH%itop-cron.js" --param_file="%CRON_PATH%cron.params" --verbose=1 %* >> "%CRON_LOG_DIR%\cron.log" 2>&1
) else (
  call itop-cron --param_file="%CRON_PATH%cron.params" --verbose=1 %* >> "%CRON_LOG_DIR%\cron.log" 2>&1
)
exit /b %ERRORLEVEL%
