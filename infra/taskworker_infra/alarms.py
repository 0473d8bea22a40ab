"""CloudWatch alarms for the three ways a task pipeline goes wrong quietly."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

__all__ = ["TaskAlarms"]

_MINUTE = Duration.minutes(1)


class TaskAlarms(Construct):
    """Alarms: the DLQ holds messages (a task failed for good), the oldest queued message is
    older than the latency budget (consumers are stuck or too few), and the consumer function
    errors (crashes or timeouts; per-message failures are reported, not raised)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        max_message_age: Duration,
        function: lambda_.IFunction | None = None,
        topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = cloudwatch.Alarm(
            self,
            "DeadLetters",
            alarm_description="Tasks failed permanently and wait in the dead-letter queue",
            metric=dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=_MINUTE, statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.message_age = cloudwatch.Alarm(
            self,
            "OldestMessageAge",
            alarm_description="The oldest queued task waited longer than the latency budget",
            metric=queue.metric_approximate_age_of_oldest_message(period=_MINUTE, statistic="Maximum"),
            threshold=max_message_age.to_seconds(),
            evaluation_periods=3,
            datapoints_to_alarm=3,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.alarms = [self.dead_letters, self.message_age]
        if function is not None:
            self.consumer_errors = cloudwatch.Alarm(
                self,
                "ConsumerErrors",
                alarm_description="The consumer function crashed or timed out",
                metric=function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            self.alarms.append(self.consumer_errors)
        if topic is not None:
            for alarm in self.alarms:
                alarm.add_alarm_action(actions.SnsAction(topic))
                alarm.add_ok_action(actions.SnsAction(topic))
