<?php
/**
 * itop-cron's PHP bridge: runs iTop's own background processes on itop-cron's behalf.
 *
 * Started by itop-cron (src/php/worker.ts) as `php bridge.php`, with its parameters in the environment
 * (never in $argv: iTop reads `--name=value` arguments from $argv itself):
 *   ITOP_CRON_BRIDGE_ROOT   the iTop root (where approot.inc.php is)
 *   ITOP_CRON_BRIDGE_LOGIN  the iTop login itop-cron already authenticated (logged in without a password)
 *   ITOP_CRON_BRIDGE_NONCE  the frame marker (removed from the environment once read)
 *
 * It bootstraps iTop once, as cron.php does (approot, application.inc.php, background.inc.php,
 * startup.inc.php), then reads one JSON request per line on stdin and answers each with one frame on
 * stdout: a line "<nonce> <json>". What a task echoes is captured with an output buffer and sent as
 * `output` frames; anything else on stdout (a notice printed at shutdown) is not a frame, since it cannot
 * know the nonce, and itop-cron logs it. Requests:
 *   {"op":"list"}                          the process classes, in iTop's discovery order
 *   {"op":"run","class":C,"limit":T}       C::Process(T), T a Unix timestamp
 *   {"op":"async","id":N}                  AsyncTask N: Process(), deleted when it succeeded
 *   {"op":"ping"}                          memory figures
 * Every answer has "ok"; a failure has "kind" (invalid-config, fatal, gone-away, exception, php-error,
 * php-fatal, exit, bootstrap) and "error". The bridge never writes priv_backgroundtask: itop-cron keeps
 * the registry, as cron.php does around each Process() call.
 */

$sNonce = (string) getenv('ITOP_CRON_BRIDGE_NONCE');
$sRoot = (string) getenv('ITOP_CRON_BRIDGE_ROOT');
$sLogin = (string) getenv('ITOP_CRON_BRIDGE_LOGIN');
putenv('ITOP_CRON_BRIDGE_NONCE');
unset($_ENV['ITOP_CRON_BRIDGE_NONCE'], $_SERVER['ITOP_CRON_BRIDGE_NONCE']);
// iTop's utils::ReadParam looks at $argv: leave it nothing of ours to read.
$argv = array($argv[0] ?? 'bridge.php');
$_SERVER['argv'] = $argv;
$_SERVER['argc'] = 1;
ini_set('display_errors', 'stderr');
// Shown once on stderr (which itop-cron logs), not a second time by the CLI's error log.
ini_set('log_errors', '0');

/** State shared with the shutdown handler. */
final class ItopCronBridge
{
	public static $sNonce = '';
	/** The request being served, or null between requests. */
	public static $aCurrent = null;
	/** Memory released before a shutdown caused by memory exhaustion, so that the answer can be written. */
	public static $sReserve = '';
	public static $fStart = 0.0;

	public static function Send(array $aFrame): void
	{
		// A leading newline: a frame always starts a line, whatever a task printed without one.
		$sJson = json_encode($aFrame, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR);
		fwrite(STDOUT, "\n".self::$sNonce.' '.$sJson."\n");
		fflush(STDOUT);
	}

	public static function Answer(array $aAnswer): void
	{
		$aAnswer['reply'] = self::$aCurrent['seq'] ?? null;
		$aAnswer['duration'] = microtime(true) - self::$fStart;
		$aAnswer['peak_memory'] = memory_get_peak_usage(true);
		$aAnswer['memory'] = memory_get_usage(true);
		self::$aCurrent = null;
		self::Send($aAnswer);
	}

	public static function Failure(Throwable $e): array
	{
		$sKind = 'exception';
		if ($e instanceof ProcessInvalidConfigException) $sKind = 'invalid-config';
		elseif ($e instanceof ProcessFatalException) $sKind = 'fatal';
		elseif ($e instanceof MySQLHasGoneAwayException) $sKind = 'gone-away';
		elseif ($e instanceof Error) $sKind = 'php-error';
		return array(
			'ok' => false,
			'kind' => $sKind,
			'error' => $e->getMessage(),
			'class' => get_class($e),
			'code' => $e->getCode(),
			'trace' => $e->getTraceAsString(),
		);
	}

	/** Output of the task, streamed to itop-cron as it is produced. */
	public static function Capture(string $sBuffer): string
	{
		if ($sBuffer !== '') self::Send(array('event' => 'output', 'text' => $sBuffer));
		return '';
	}

	public static function OnShutdown(): void
	{
		self::$sReserve = '';
		while (ob_get_level() > 0) ob_end_flush();
		if (self::$aCurrent === null) return;
		$aError = error_get_last();
		$bFatal = is_array($aError) && in_array($aError['type'], array(E_ERROR, E_CORE_ERROR, E_COMPILE_ERROR, E_PARSE, E_USER_ERROR), true);
		self::Answer(array(
			'ok' => false,
			'kind' => $bFatal ? 'php-fatal' : 'exit',
			'error' => $bFatal
				? $aError['message'].' in '.$aError['file'].':'.$aError['line']
				: 'the task ended the PHP process (exit)',
		));
	}
}

ItopCronBridge::$sNonce = $sNonce;
ItopCronBridge::$sReserve = str_repeat(' ', 1 << 20);
register_shutdown_function(array('ItopCronBridge', 'OnShutdown'));

function ItopCronBridgeBootstrap(string $sRoot, string $sLogin): void
{
	ItopCronBridge::$aCurrent = array('seq' => 0);
	ItopCronBridge::$fStart = microtime(true);
	if ($sRoot === '' || !is_file($sRoot.'/approot.inc.php')) {
		ItopCronBridge::Answer(array('ok' => false, 'kind' => 'bootstrap', 'error' => "no iTop sources in '$sRoot' (approot.inc.php is missing)"));
		exit(3);
	}
	ob_start(array('ItopCronBridge', 'Capture'), 1);
	try {
		require_once($sRoot.'/approot.inc.php');
		if (file_exists(READONLY_MODE_FILE)) {
			throw new RuntimeException('iTop is read-only');
		}
		require_once(APPROOT.'/application/application.inc.php');
		require_once(APPROOT.'/core/background.inc.php');
		if (!file_exists(APPCONF.ITOP_DEFAULT_ENV.'/'.ITOP_CONFIG_FILE)) {
			throw new RuntimeException('iTop is not yet installed');
		}
		require_once(APPROOT.'/application/startup.inc.php');
		// Already authenticated by itop-cron (the same check as cron.php's): no second password check.
		if ($sLogin !== '' && !UserRights::Login($sLogin)) {
			throw new RuntimeException("cannot log in the iTop user '$sLogin'");
		}
		$GLOBALS['oItopCronBridgeCtx'] = new ContextTag(ContextTag::TAG_CRON);
	} catch (Throwable $e) {
		ob_end_clean();
		$aFailure = ItopCronBridge::Failure($e);
		$aFailure['kind'] = $aFailure['kind'] === 'gone-away' ? 'gone-away' : 'bootstrap';
		ItopCronBridge::Answer($aFailure);
		exit(3);
	}
	ob_end_clean();
	ItopCronBridge::Answer(array(
		'ok' => true,
		'ready' => true,
		'php' => PHP_VERSION,
		'itop' => defined('ITOP_VERSION') ? ITOP_VERSION : null,
		'timezone' => date_default_timezone_get(),
	));
}

/** Unix timestamp of a process's next occurrence (iTop's dates are local: an instant is unambiguous). */
function ItopCronBridgeNext($oProcess): ?int
{
	$oNext = $oProcess->GetNextOccurrence();
	return $oNext instanceof DateTimeInterface ? $oNext->getTimestamp() : null;
}

function ItopCronBridgeList(): array
{
	$aClasses = array();
	$aDiscovered = Combodo\iTop\Service\InterfaceDiscovery\InterfaceDiscovery::GetInstance()->FindItopClasses(iProcess::class);
	foreach ($aDiscovered as $sClass) {
		$aEntry = array('class' => $sClass);
		try {
			$oProcess = new $sClass;
			$oRef = new ReflectionClass($sClass);
			if ($oRef->implementsInterface('iScheduledProcess')) {
				$aEntry['kind'] = 'scheduled';
				$aEntry['next'] = ItopCronBridgeNext($oProcess);
			} else {
				$aEntry['kind'] = 'periodic';
				$aEntry['periodicity'] = (int) $oProcess->GetPeriodicity();
			}
		} catch (Throwable $e) {
			$aFailure = ItopCronBridge::Failure($e);
			$aEntry['kind'] = $aEntry['kind'] ?? 'unknown';
			$aEntry['error'] = $aFailure['error'];
			$aEntry['error_kind'] = $aFailure['kind'];
		}
		$aClasses[] = $aEntry;
	}
	return array('ok' => true, 'classes' => $aClasses);
}

function ItopCronBridgeRun(string $sClass, int $iLimit): array
{
	if (!class_exists($sClass) || !in_array('iProcess', class_implements($sClass) ?: array(), true)) {
		return array('ok' => false, 'kind' => 'exception', 'error' => "'$sClass' is not an iTop process class");
	}
	CMDBObject::SetCurrentChangeFromParams("Background task ($sClass)");
	$oCtx = new ContextTag('CRON:Task:'.$sClass);
	$oProcess = new $sClass;
	$mResult = $oProcess->Process($iLimit);
	$aAnswer = array('ok' => true, 'message' => is_string($mResult) || is_bool($mResult) || $mResult === null ? $mResult : (string) $mResult);
	if ($oProcess instanceof iScheduledProcess) {
		try {
			$aAnswer['next'] = ItopCronBridgeNext($oProcess);
		} catch (Throwable $e) {
			$aAnswer['next_error'] = $e->getMessage();
		}
	}
	unset($oCtx);
	return $aAnswer;
}

function ItopCronBridgeAsync(int $iId): array
{
	$oTask = MetaModel::GetObject('AsyncTask', $iId, false);
	if ($oTask === null) return array('ok' => true, 'found' => false);
	CMDBObject::SetCurrentChangeFromParams('Background task (ExecAsyncTask)');
	$oCtx = new ContextTag('CRON:Task:ExecAsyncTask');
	$bDone = $oTask->Process();
	if ($bDone) $oTask->DBDelete();
	unset($oCtx);
	return array('ok' => true, 'found' => true, 'done' => (bool) $bDone, 'class' => get_class($oTask));
}

ItopCronBridgeBootstrap($sRoot, $sLogin);

while (($sLine = fgets(STDIN)) !== false) {
	$aRequest = json_decode($sLine, true);
	if (!is_array($aRequest)) continue;
	ItopCronBridge::$aCurrent = $aRequest;
	ItopCronBridge::$fStart = microtime(true);
	if (function_exists('memory_reset_peak_usage')) memory_reset_peak_usage();
	$sOp = (string) ($aRequest['op'] ?? '');
	ob_start(array('ItopCronBridge', 'Capture'), 1);
	try {
		if ($sOp === 'list') $aAnswer = ItopCronBridgeList();
		elseif ($sOp === 'run') $aAnswer = ItopCronBridgeRun((string) $aRequest['class'], (int) $aRequest['limit']);
		elseif ($sOp === 'async') $aAnswer = ItopCronBridgeAsync((int) $aRequest['id']);
		elseif ($sOp === 'ping') $aAnswer = array('ok' => true);
		else $aAnswer = array('ok' => false, 'kind' => 'exception', 'error' => "unknown request '$sOp'");
	} catch (Throwable $e) {
		$aAnswer = ItopCronBridge::Failure($e);
	}
	while (ob_get_level() > 0) ob_end_flush();
	ItopCronBridge::Answer($aAnswer);
}
