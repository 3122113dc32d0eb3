// On-call console webhook for Zabbix 5.0 and later (Administration / Alerts > Media types >
// Create media type > Type: Webhook). Paste this whole file into "Script" and add the
// parameters listed in the console's set-up steps. It posts one JSON object per problem,
// problem update and recovery to the push URL.
var OnCall = {
    // A macro Zabbix could not resolve arrives as its own text ("{EVENT.UPDATE.STATUS}").
    clean: function (text) {
        if (typeof text !== 'string') {
            return '';
        }
        return /^\{[A-Z0-9_.#$]+\}$/.test(text.trim()) ? '' : text;
    },

    tags: function (text) {
        var cleaned = OnCall.clean(text);
        if (cleaned === '') {
            return [];
        }
        try {
            return JSON.parse(cleaned);
        } catch (error) {
            return [];
        }
    },

    // Zabbix 5.4+ has HttpRequest; 5.0 and 5.2 have CurlHttpRequest with capitalised methods.
    post: function (url, proxy, body) {
        var request, status, answer;
        if (typeof HttpRequest !== 'undefined') {
            request = new HttpRequest();
            request.addHeader('Content-Type: application/json');
            if (proxy) {
                request.setProxy(proxy);
            }
            answer = request.post(url, body);
            status = request.getStatus();
        } else {
            request = new CurlHttpRequest();
            request.AddHeader('Content-Type: application/json');
            if (proxy) {
                request.SetProxy(proxy);
            }
            answer = request.Post(url, body);
            status = request.Status();
        }
        if (status < 200 || status >= 300) {
            throw 'the console answered ' + status + ': ' + answer;
        }
        return answer;
    }
};

try {
    var params = JSON.parse(value);
    if (!OnCall.clean(params.URL)) {
        throw 'the URL parameter (the push URL) is empty';
    }
    var body = {
        event_id: OnCall.clean(params.event_id),
        event_value: OnCall.clean(params.event_value),
        event_update_status: OnCall.clean(params.event_update_status),
        event_name: OnCall.clean(params.event_name),
        event_severity: OnCall.clean(params.event_severity),
        event_nseverity: OnCall.clean(params.event_nseverity),
        event_tags: OnCall.tags(params.event_tags),
        event_opdata: OnCall.clean(params.event_opdata),
        trigger_id: OnCall.clean(params.trigger_id),
        trigger_description: OnCall.clean(params.trigger_description),
        host_name: OnCall.clean(params.host_name),
        host_ip: OnCall.clean(params.host_ip),
        alert_subject: OnCall.clean(params.alert_subject),
        alert_message: OnCall.clean(params.alert_message),
        zabbix_url: OnCall.clean(params.zabbix_url)
    };
    OnCall.post(params.URL, OnCall.clean(params.HTTPProxy), JSON.stringify(body));
    return 'OK';
} catch (error) {
    Zabbix.log(3, '[on-call webhook] sending failed: ' + error);
    throw 'Sending failed: ' + error;
}
