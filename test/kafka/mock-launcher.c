/*
 * Test broker for Strata's Kafka tests: starts librdkafka's mock cluster (a Kafka wire-protocol broker
 * made for client testing), prints its bootstrap address and obeys one command per line on stdin.
 *
 * Usage: mock-launcher [broker-count]
 * Output: first line "bootstrap <host:port,...>", then one reply line per command: "ok" or "err <reason>".
 * Commands:
 *   topic <name> <partitions>   create a topic up front (the mock refuses the CreateTopics admin call)
 *   down <broker-id|-1>         disconnect a broker (-1: all) and refuse new connections
 *   up <broker-id|-1>           accept connections again
 *   quit                        destroy the cluster and exit (end of input does the same, so the
 *                               cluster never outlives the test process that owns the pipe)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define LINE_MAX_BYTES 1024

static void reply(rd_kafka_resp_err_t err) {
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
                printf("ok\n");
        else
                printf("err %s\n", rd_kafka_err2str(err));
        fflush(stdout);
}

/* Executes one command line; returns 0 when the launcher should exit. */
static int run_command(rd_kafka_mock_cluster_t *mcluster, char *line) {
        char name[LINE_MAX_BYTES];
        int number = 0;

        if (strncmp(line, "quit", 4) == 0)
                return 0;
        if (sscanf(line, "topic %1023s %d", name, &number) == 2)
                reply(rd_kafka_mock_topic_create(mcluster, name, number, 1));
        else if (sscanf(line, "down %d", &number) == 1)
                reply(rd_kafka_mock_broker_set_down(mcluster, number));
        else if (sscanf(line, "up %d", &number) == 1)
                reply(rd_kafka_mock_broker_set_up(mcluster, number));
        else {
                printf("err unknown command\n");
                fflush(stdout);
        }
        return 1;
}

int main(int argc, char **argv) {
        char errstr[512];
        char line[LINE_MAX_BYTES];
        int broker_count = argc > 1 ? atoi(argv[1]) : 1;
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;
        rd_kafka_mock_cluster_t *mcluster;

        if (broker_count < 1) {
                fprintf(stderr, "broker count must be at least 1\n");
                return 2;
        }
        /* The handle only hosts the cluster's threads; it never connects anywhere itself. */
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "rd_kafka_new failed: %s\n", errstr);
                return 1;
        }
        mcluster = rd_kafka_mock_cluster_new(rk, broker_count);
        if (!mcluster) {
                fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
                rd_kafka_destroy(rk);
                return 1;
        }
        printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(mcluster));
        fflush(stdout);

        while (fgets(line, sizeof(line), stdin) && run_command(mcluster, line))
                ;

        rd_kafka_mock_cluster_destroy(mcluster);
        rd_kafka_destroy(rk);
        return 0;
}
